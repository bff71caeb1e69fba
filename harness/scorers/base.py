"""The scorer base class, the registry that builds scorers by name, and the one "no text" guard.

A scorer turns one case and one output text into :class:`~harness.records.Score` values.
Each metric it emits declares ``higher_is_better`` (the gate needs the direction). A
generation that failed (no text) is never shown to a scorer: :class:`Scorer`, the wrapper
:func:`make_scorer` returns, scores it ``None`` with the reason, never a silent 0.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from harness.errors import ConfigError
from harness.records import Case, Generation, Score


class ScorerBase:
    """What a registered scorer implements: ``metrics``, ``applies`` and ``score_text``."""

    metrics: dict[str, bool] = {}
    """Every metric name the scorer emits, mapped to ``higher_is_better``."""

    def applies(self, case: Case) -> bool:
        """Whether this scorer has anything to say about ``case``."""
        return True

    def check_cases(self, cases: Sequence[Case]) -> None:
        """Refuse cases this scorer could not score, before anything is generated (default: accept all)."""

    def prepare(self, pairs: Sequence[tuple[Case, str]]) -> None:
        """Work on every (case, output text) at once before per-case scoring, e.g. batched embeddings (default: none)."""

    def score_text(self, case: Case, text: str) -> list[Score]:
        """Scores for one output text (None values carry a reason in ``detail``)."""
        raise NotImplementedError


SCORERS: dict[str, Callable[..., ScorerBase]] = {}
"""The scorer registry: name → factory (the class), filled by :func:`register`."""


def register(name: str) -> Callable[[type[ScorerBase]], type[ScorerBase]]:
    """Register a scorer class under ``name``; a duplicate name is a programming error."""

    def add(factory: type[ScorerBase]) -> type[ScorerBase]:
        if name in SCORERS:
            raise ValueError(f"scorer {name!r} is already registered")
        SCORERS[name] = factory
        return factory

    return add


class Scorer:
    """A registered scorer behind the guard: a generation without text is unscored, with the reason."""

    def __init__(self, name: str, scorer: ScorerBase) -> None:
        self.name, self.scorer = name, scorer

    @property
    def metrics(self) -> dict[str, bool]:
        """The wrapped scorer's metrics and their direction."""
        return self.scorer.metrics

    def applies(self, case: Case) -> bool:
        """Whether the wrapped scorer scores ``case``."""
        return self.scorer.applies(case)

    def check_cases(self, cases: Sequence[Case]) -> None:
        """The wrapped scorer's up-front check of the cases."""
        self.scorer.check_cases([c for c in cases if self.scorer.applies(c)])

    def prepare(self, cases: Sequence[Case], generations: Sequence[Generation]) -> None:
        """The wrapped scorer's batch step over the generations that have text and cases it applies to."""
        pairs = [(c, g.text) for c, g in zip(cases, generations, strict=True) if g.text is not None and self.applies(c)]
        if pairs:
            self.scorer.prepare(pairs)

    def score(self, case: Case, generation: Generation) -> list[Score]:
        """Scores for one generation; ``None`` for every metric when it has no text."""
        if generation.text is None:
            return unscored(self.metrics, f"generation failed: {generation.error}")
        return self.scorer.score_text(case, generation.text)


def make_scorer(name: str, **options: Any) -> Scorer:
    """Build a registered scorer from its options (``name → options`` in the config).

    Raises:
        ConfigError: unknown name (the message lists the known ones).
    """
    if name not in SCORERS:
        raise ConfigError(f"unknown scorer {name!r}; known: {', '.join(sorted(SCORERS))}")
    return Scorer(name, SCORERS[name](**options))


def unscored(metrics: dict[str, bool], why: str) -> list[Score]:
    """``None`` for every metric, with the reason."""
    return [Score(metric, None, why) for metric in metrics]
