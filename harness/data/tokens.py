"""Token counts with the real tokenizer and chat template (lint's lengths and statistics)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from harness.chat import render
from harness.data.codes import severity_of
from harness.records import Example, Finding


class TokenCounter:
    """Counts tokens of examples as the model will see them.

    Args:
        tokenizer: a transformers tokenizer with a chat template.
        max_length: the model's context length (``max_position_embeddings``).
    """

    def __init__(self, tokenizer: Any, max_length: int) -> None:
        self.tokenizer = tokenizer
        self.max_length = max_length
        # The last examples counted and their counts; holding the list itself (not its id)
        # means a later, different list can never be served stale counts.
        self._last: tuple[Sequence[Example], tuple[np.ndarray, np.ndarray]] | None = None

    def counts(self, examples: Sequence[Example]) -> tuple[np.ndarray, np.ndarray]:
        """Tokens per rendered example and per assistant output, as two arrays."""
        if self._last is None or self._last[0] is not examples:
            texts = [render(self.tokenizer, e.messages, add_generation_prompt=False) for e in examples]
            outputs = [e.output or "" for e in examples]
            self._last = (examples, (self._lengths(texts), self._lengths(outputs)))
        return self._last[1]

    def _lengths(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros(0, dtype=np.int64)
        ids = self.tokenizer(texts, add_special_tokens=False)["input_ids"]
        return np.fromiter((len(x) for x in ids), dtype=np.int64, count=len(ids))

    def too_long(self, examples: Sequence[Example]) -> list[Finding]:
        """Warnings for examples longer than the context window."""
        total, _ = self.counts(examples)
        return [
            Finding(e.path, e.line, "too-long", severity_of("too-long"),
                    f"{n} tokens with the chat template; the model's context is {self.max_length}: shorten or drop it")
            for e, n in zip(examples, total, strict=True)
            if n > self.max_length
        ]

    def statistics(self, examples: Sequence[Example]) -> dict[str, dict[str, int]]:
        """min, p50, p95, max and total tokens per example and per assistant output."""
        total, assistant = self.counts(examples)
        return {"example": _describe(total), "assistant": _describe(assistant)}


def _describe(values: np.ndarray) -> dict[str, int]:
    if len(values) == 0:
        return {"min": 0, "p50": 0, "p95": 0, "max": 0, "total": 0}
    p50, p95 = np.percentile(values, [50, 95])
    return {"min": int(values.min()), "p50": int(p50), "p95": int(p95), "max": int(values.max()),
            "total": int(values.sum())}
