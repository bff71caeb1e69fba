"""The serving-parity figures of the store's decisions (``gate.parity``: the candidate on the engine vs local peft).

The store keeps each check's name, verdict and one-line detail; the figures (share of identical
outputs, the paired difference of the primary metric with its interval, the cases that differ
most) are read from the ``decision.json`` the store indexed. A decision file that is gone or
unreadable gives no figures: the decision log still shows the check's line.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.history.records import DecisionRecord

PREFIX = "serving parity"
"""Name prefix of the parity check (``harness.gate.parity.NAME``)."""
CASES_SHOWN = 5
"""The most different cases the report names per decision (the decision file has them all)."""


@dataclass(frozen=True)
class DifferingCase:
    """A held-out case whose output on the engine differs from the local peft reference."""

    case: str
    sample: int
    similarity: float
    """difflib ratio of the two outputs: 1.0 identical, 0.0 nothing in common."""


@dataclass(frozen=True)
class ParityFigures:
    """One decision's parity check, as the report shows it."""

    created_at: str
    task: str | None
    candidate: str | None
    verdict: str
    identical_share: float | None
    n: int | None
    floor: float | None
    metric: str | None
    """The primary metric the paired difference is of (None in decisions written before it was recorded)."""
    delta: float | None
    """Paired difference of the primary metric, engine - peft."""
    low: float | None
    high: float | None
    differing: int
    """How many cases differ (all of them, not only those shown)."""
    cases: list[DifferingCase] = field(default_factory=list)
    """The most different first, at most :data:`CASES_SHOWN`."""
    detail: str = ""

    @property
    def identical(self) -> int | None:
        """Cases with identical outputs."""
        return None if self.n is None or self.identical_share is None else self.n - self.differing


def parity_figures(decisions: list[DecisionRecord]) -> list[ParityFigures]:
    """The figures of every decision with a parity check, newest first (as ``decisions`` are)."""
    out = []
    for decision in decisions:
        if not any(c.name.startswith(PREFIX) for c in decision.checks):
            continue
        check = _check(Path(decision.path))
        if check is not None:
            out.append(_figures(decision, check))
    return out


def _check(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    checks = data.get("checks") if isinstance(data, dict) else None
    return next((c for c in checks or [] if isinstance(c, dict) and str(c.get("name", "")).startswith(PREFIX)), None)


def _number(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value) else None


def _figures(decision: DecisionRecord, check: dict[str, Any]) -> ParityFigures:
    found = check.get("observed")
    observed: dict[str, Any] = found if isinstance(found, dict) else {}
    interval = check.get("interval")
    low, high = (_number(interval[0]), _number(interval[1])) if isinstance(interval, list | tuple) and len(interval) == 2 \
        else (None, None)
    rows = [c for c in observed.get("differing_cases") or [] if isinstance(c, dict)]
    cases = [DifferingCase(str(c.get("case")), int(c.get("sample") or 0), _number(c.get("similarity")) or 0.0)
             for c in rows[:CASES_SHOWN]]
    n = check.get("n")
    metric = observed.get("metric")
    return ParityFigures(decision.created_at, decision.task, decision.candidate, str(check.get("verdict")),
                         _number(observed.get("identical_share")), n if isinstance(n, int) else None,
                         _number(check.get("threshold")), metric if isinstance(metric, str) else None,
                         _number(check.get("delta")), low, high, len(rows), cases, str(check.get("explanation") or ""))
