"""Typed records of the judge: items, verdicts and pairwise outcomes."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class JudgeItem:
    """One reply to judge."""

    id: str
    """Stable id (a run's ``case_id:variant:sample``, or a labelled set's id)."""
    input: str
    """The customer's message."""
    output: str
    """The reply under judgement."""
    variant: str = ""
    """The variant that wrote it (empty when unknown)."""


@dataclass(frozen=True)
class Verdict:
    """A parsed absolute verdict; ``score`` None means unscored (never a low score)."""

    score: int | None
    """The ordinal score, or None when the verdict could not be parsed."""
    reason: str | None
    """The judge's short reason."""
    raw: str | None
    """The judge's text, kept as it came."""
    error: str | None
    """Why it is unscored."""


@dataclass(frozen=True)
class PairVerdict:
    """A parsed pairwise verdict; ``winner`` None means unscored."""

    winner: str | None
    """``A`` (shown first) or ``B``."""
    reason: str | None
    """The judge's short reason."""
    raw: str | None
    """The judge's text, kept as it came."""
    error: str | None
    """Why it is unscored."""


@dataclass(frozen=True)
class JudgeScore:
    """One line of a judge-scores file: the item's id and its verdict under one judge identity."""

    id: str
    """The item."""
    variant: str
    """The variant that wrote it."""
    sample: int
    """0 for the greedy verdict; 1, 2, ... for sampled repeats (test-retest)."""
    judge: int | None
    """The score (None: unscored)."""
    reason: str | None
    """The judge's reason."""
    raw: str | None
    """The judge's raw text."""
    error: str | None
    """Why it is unscored."""
    judge_identity: str
    """The judge identity the score was produced under."""
    rubric_sha256: str
    """The rubric's hash."""

    def to_json(self) -> str:
        """One JSONL line."""
        return json.dumps(asdict(self), ensure_ascii=False)


@dataclass(frozen=True)
class PairOutcome:
    """A pair judged in both orders."""

    first: str
    """Id of the reply shown as A in the first order."""
    second: str
    """Id of the reply shown as A in the swapped order."""
    forward: PairVerdict
    """Verdict with ``first`` as A."""
    backward: PairVerdict
    """Verdict with ``second`` as A."""

    @property
    def preferred(self) -> str | None:
        """The id both orders prefer; None when they disagree or either is unscored (position bias cancelled)."""
        if self.forward.winner is None or self.backward.winner is None:
            return None
        one = self.first if self.forward.winner == "A" else self.second
        two = self.second if self.backward.winner == "A" else self.first
        return one if one == two else None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready data."""
        return {"first": self.first, "second": self.second, "forward": asdict(self.forward),
                "backward": asdict(self.backward), "preferred": self.preferred}
