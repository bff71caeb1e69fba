"""Output health of a window: schema failures, each output field's distribution, latency.

The window's health flag holds a family-wise false-alarm level ``alpha`` (Bonferroni over the
schema check and one check per field):

- ``schema_failures``: one-sided exact binomial test of H0 "failure rate <= tolerance"
  (default 0.05, the triage gate's ``schema_valid >= 0.95`` floor);
- ``field:<name>``: Pearson's chi-square test of homogeneity of the window's values against
  the held-out outputs' values (threshold: the chi-square quantile at the check's level);
  the Jensen-Shannon distance between the two distributions is reported beside it.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy import stats
from scipy.spatial.distance import jensenshannon

from harness.monitor.records import Check, Latency, LogRecord
from harness.monitor.reference import Reference

DEFAULT_TOLERANCE = 0.05


class ReplyChecker:
    """Parses and validates replies once each (replies repeat: labels)."""

    def __init__(self, reference: Reference) -> None:
        self.reference = reference
        self._memo: dict[str, dict[str, Any] | None] = {}

    def parsed(self, reply: str | None) -> dict[str, Any] | None:
        """The reply as a JSON object when it is healthy, None when it fails (or is missing)."""
        if reply is None:
            return None
        if reply not in self._memo:
            self._memo[reply] = self._check(reply)
        return self._memo[reply]

    def failed(self, reply: str | None) -> bool:
        """True when the reply is missing or fails the schema."""
        if reply is None:
            return True
        return self.reference.schema is not None and self.parsed(reply) is None

    def _check(self, reply: str) -> dict[str, Any] | None:
        schema = self.reference.schema
        if schema is None or schema.errors(reply) is not None:
            return None
        value = json.loads(reply)
        return value if isinstance(value, dict) else {}


def health_checks(
    records: Sequence[LogRecord], checker: ReplyChecker, alpha: float, tolerance: float = DEFAULT_TOLERANCE
) -> list[Check]:
    """The schema check and one distribution check per categorical output field."""
    fields = checker.reference.fields
    level = alpha / (1 + len(fields))
    checks = [schema_check(records, checker, level, tolerance)]
    reference = [checker.parsed(e.output) or {} for e in checker.reference.target]
    window = [p for p in (checker.parsed(r.reply) for r in records) if p is not None]
    checks += [field_check(name, [o.get(name) for o in window], [o.get(name) for o in reference], level) for name in fields]
    return checks


def schema_check(records: Sequence[LogRecord], checker: ReplyChecker, level: float, tolerance: float) -> Check:
    """Failure rate of the window's replies against the tolerance (one-sided binomial test)."""
    n = len(records)
    failures = sum(checker.failed(r.reply) for r in records)
    what = "the output schema" if checker.reference.schema is not None else "a reply is present (no schema: free-text outputs)"
    if n == 0:
        return Check("schema_failures", "binomial", None, tolerance, None, level, 0, note="empty window")
    p = float(stats.binomtest(failures, n, tolerance, alternative="greater").pvalue)
    return Check("schema_failures", f"exact binomial, H0: rate <= {tolerance:g}", failures / n, tolerance, p, level, n,
                 flagged=p <= level, note=f"{failures} of {n} replies fail {what}")


def field_check(name: str, window: Sequence[Any], reference: Sequence[Any], level: float) -> Check:
    """Chi-square test of homogeneity of one field's values, window against reference."""
    window_counts = Counter(json.dumps(v) for v in window)
    reference_counts = Counter(json.dumps(v) for v in reference)
    levels = sorted(set(window_counts) | set(reference_counts))
    table = np.array([[reference_counts[v] for v in levels], [window_counts[v] for v in levels]], dtype=float)
    test = "Pearson chi-square, homogeneity"
    if len(window) < 20 or len(levels) < 2:
        return Check(f"field:{name}", test, None, None, None, level, len(window), len(reference),
                     note="fewer than 20 healthy replies or a single value: not tested")
    result = stats.chi2_contingency(table, correction=False)
    js = float(jensenshannon(table[0] / table[0].sum(), table[1] / table[1].sum(), base=2))
    shares = ", ".join(f"{v} {c / len(window):.0%}" for v, c in window_counts.most_common())
    return Check(f"field:{name}", test, float(result.statistic), float(stats.chi2.ppf(1 - level, result.dof)),
                 float(result.pvalue), level, len(window), len(reference), flagged=bool(result.pvalue <= level),
                 note=f"Jensen-Shannon distance {js:.3f}; window: {shares}")


def latency(records: Sequence[LogRecord]) -> Latency:
    """p50, p95 and p99 of the window's latencies."""
    values = np.array([r.latency_ms for r in records if r.latency_ms is not None])
    if not len(values):
        return Latency(0)
    p50, p95, p99 = (float(x) for x in np.percentile(values, [50, 95, 99]))
    return Latency(len(values), p50, p95, p99)
