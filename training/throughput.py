"""A Trainer callback that times the training steps alone (evaluation and saving excluded)."""

from __future__ import annotations

import time

from transformers import TrainerCallback


class StepTimer(TrainerCallback):
    """Accumulates wall time spent inside training steps."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self._start: float | None = None

    def on_step_begin(self, args, state, control, **kwargs):  # noqa: D102
        self._start = time.perf_counter()

    def on_step_end(self, args, state, control, **kwargs):  # noqa: D102
        if self._start is not None:
            self.seconds += time.perf_counter() - self._start
            self._start = None
