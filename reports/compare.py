"""Is a change beyond noise? Paired tests where the cases are the same, intervals otherwise.

- pass/fail metrics on the same cases: exact McNemar (``harness.stats.mcnemar_exact``);
- scores on the same cases: paired bootstrap of the mean difference (cases resampled with
  ``harness.stats.resample_counts``, p from the null-shifted resamples);
- corpus metrics (macro-F1, whose per-case cousins ``field:*`` get McNemar) and different
  cases (the held-out file changed, a ``--limit``): the 95% intervals must not overlap.

Paired p-values of one task are Holm-adjusted together: a report that runs dozens of tests
every night would otherwise flag a wiggle somewhere most nights.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from harness.reports.load import CaseScores

from harness.history.records import MetricRow
from harness.stats import mcnemar_exact, resample_counts

ALPHA = 0.05
RESAMPLES = 4000


@dataclass
class Comparison:
    """One variant × metric, latest run against an earlier one."""

    variant: str
    metric: str
    before: float | None
    after: float | None
    n_before: int
    n_after: int
    test: str
    """``exact McNemar``, ``paired bootstrap``, ``interval overlap`` or ``none`` (why in ``note``)."""
    p_value: float | None = None
    """Holm-adjusted across the task's paired tests."""
    regression: bool = False
    improvement: bool = False
    note: str = ""

    @property
    def delta(self) -> float | None:
        """after − before."""
        return None if self.before is None or self.after is None else self.after - self.before


def _paired_values(old: CaseScores, new: CaseScores, variant: str, metric: str) -> tuple[list[float], list[float]] | None:
    """Sample-0 scores on the same case set in both runs, or None when the case sets differ."""
    a, b = old.get(variant, {}), new.get(variant, {})
    if not a or set(a) != set(b):
        return None
    pairs = [(a[c][0].get(metric), b[c][0].get(metric)) for c in sorted(a) if 0 in a[c] and 0 in b[c]]
    kept = [(x, y) for x, y in pairs if x is not None and y is not None]
    return [x for x, _ in kept], [y for _, y in kept]


def bootstrap_p(before: Sequence[float], after: Sequence[float], seed: int = 0) -> float:
    """Two-sided bootstrap p-value of a zero mean paired difference (resampling cases)."""
    diffs = np.asarray(after, dtype=float) - np.asarray(before, dtype=float)
    if not diffs.any():
        return 1.0
    means = resample_counts(len(diffs), RESAMPLES, seed) @ diffs / len(diffs)
    centred = means - diffs.mean()
    return float(min(1.0, (np.sum(np.abs(centred) >= abs(diffs.mean())) + 1) / (RESAMPLES + 1)))


def compare(old_rows: list[MetricRow], new_rows: list[MetricRow], old: CaseScores, new: CaseScores) -> list[Comparison]:
    """Every non-cost metric both runs have, tested; regressions and improvements marked (Holm over paired p)."""
    before = {(m.variant, m.metric): m for m in old_rows if m.kind != "cost"}
    out = []
    for row in (m for m in new_rows if m.kind != "cost"):
        prev = before.get((row.variant, row.metric))
        if prev is None or prev.value is None or row.value is None:
            continue
        comparison = Comparison(row.variant, row.metric, prev.value, row.value, prev.n, row.n, "none")
        pairs = _paired_values(old, new, row.variant, row.metric) if row.kind == "case" else None
        if pairs is not None and len(pairs[0]) > 0:
            comparison.test = "exact McNemar" if row.binary and prev.binary else "paired bootstrap"
            b, a = pairs
            comparison.p_value = mcnemar_exact([x == 1.0 for x in b], [y == 1.0 for y in a]) \
                if comparison.test == "exact McNemar" else bootstrap_p(b, a)
            comparison.n_before = comparison.n_after = len(pairs[0])
        elif None not in (prev.low, prev.high, row.low, row.high):
            comparison.test = "interval overlap"
            apart = row.high < prev.low or row.low > prev.high  # type: ignore[operator]
            comparison.note = "95% intervals apart" if apart else "95% intervals overlap"
            _mark(comparison, row.higher_is_better, apart)
        out.append(comparison)
    _holm(out, {(m.variant, m.metric): m.higher_is_better for m in new_rows})
    return out


def _mark(c: Comparison, higher_is_better: bool, significant: bool) -> None:
    worse = (c.delta or 0) < 0 if higher_is_better else (c.delta or 0) > 0
    c.regression = significant and worse and c.delta != 0
    c.improvement = significant and not worse and c.delta != 0


def _holm(comparisons: list[Comparison], directions: dict[tuple[str, str], bool]) -> None:
    tested = sorted((c for c in comparisons if c.p_value is not None), key=lambda c: c.p_value or 0.0)
    running = 0.0
    for rank, c in enumerate(tested):
        running = max(running, min(1.0, (c.p_value or 0.0) * (len(tested) - rank)))
        c.p_value = running
        _mark(c, directions[(c.variant, c.metric)], running < ALPHA)
