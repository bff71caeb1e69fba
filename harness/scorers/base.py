"""The scorer protocol and its registry.

A scorer turns one case and one generation into :class:`~harness.records.Score` values.
Each metric it emits declares ``higher_is_better`` (the gate needs the direction). A
generation that failed, or an output a scorer cannot judge, scores ``None`` with the
reason, never a silent 0.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from harness.errors import ConfigError
from harness.records import Case, Generation, Score


class Scorer(Protocol):
    """Scores one generation of one case."""

    metrics: dict[str, bool]
    """Every metric name the scorer emits, mapped to ``higher_is_better``."""

    def applies(self, case: Case) -> bool:
        """Whether this scorer has anything to say about ``case``."""
        ...

    def score(self, case: Case, generation: Generation) -> list[Score]:
        """Scores for one generation (None values carry a reason in ``detail``)."""
        ...


SCORERS: dict[str, Callable[..., Scorer]] = {}


def register(name: str) -> Callable[[Callable[..., Scorer]], Callable[..., Scorer]]:
    """Register a scorer factory under ``name``; a duplicate name is a programming error."""

    def add(factory: Callable[..., Scorer]) -> Callable[..., Scorer]:
        if name in SCORERS:
            raise ValueError(f"scorer {name!r} is already registered")
        SCORERS[name] = factory
        return factory

    return add


def make_scorer(name: str, **options: Any) -> Scorer:
    """Build a registered scorer.

    Raises:
        ConfigError: unknown name (the message lists the known ones).
    """
    if name not in SCORERS:
        raise ConfigError(f"unknown scorer {name!r}; known: {', '.join(sorted(SCORERS))}")
    return SCORERS[name](**options)


def unscored(metrics: dict[str, bool], why: str) -> list[Score]:
    """``None`` for every metric, with the reason."""
    return [Score(metric, None, why) for metric in metrics]
