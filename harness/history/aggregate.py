"""Per variant × metric values with intervals and n, computed once when a run is indexed.

Per-case metrics: the mean over scored cases (repeat 0), with a Wilson interval when every
score is 0/1 and a t interval otherwise. Corpus metrics (macro-F1 per labelled field and
their mean ``field_macro_f1``): scikit-learn's value with a case bootstrap interval
(``harness.stats``). Costs (tokens, latency) carry no interval.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import stats as sps

from harness.history.records import MetricRow
from harness.records import CaseResult
from harness.scorers.metrics import by_variant, cost_summary, field_labels, field_summary, metric_values
from harness.stats import macro_f1_weighted, resample_counts, wilson_interval

LOWER_IS_BETTER = {"style_violations"}
COSTS = ("prompt_tokens_mean", "completion_tokens_mean", "latency_p50_s", "latency_p95_s", "errors")
BOOTSTRAP_RESAMPLES = 1000


def higher_is_better(metric: str) -> bool:
    """Direction of a metric: scorers declare theirs (``harness.scorers``); costs are lower-is-better."""
    from harness.scorers import SCORERS

    for factory in SCORERS.values():
        declared = getattr(factory, "metrics", None)
        if isinstance(declared, dict) and metric in declared:
            return bool(declared[metric])
    return metric not in LOWER_IS_BETTER and metric not in COSTS


def mean_row(variant: str, metric: str, values: Sequence[float]) -> MetricRow:
    """A per-case metric's mean with its 95% interval (Wilson for 0/1 scores, t otherwise)."""
    n = len(values)
    binary = n > 0 and all(v in (0.0, 1.0) for v in values)
    mean = float(np.mean(values)) if n else None
    low: float | None
    high: float | None
    if binary:
        low, high = wilson_interval(int(sum(values)), n)
    elif mean is not None and n > 1:
        half = float(sps.t.ppf(0.975, n - 1)) * float(np.std(values, ddof=1)) / np.sqrt(n)
        low, high = mean - half, mean + half
    else:
        low = high = mean
    return MetricRow(variant, metric, "case", mean, low, high, n, higher_is_better(metric), binary)


def corpus_rows(variant: str, results: Sequence[CaseResult], fields: Sequence[str]) -> list[MetricRow]:
    """Macro-F1 per field and their mean, each with a case-bootstrap interval."""
    if not fields:
        return []
    summary = field_summary(results, fields)
    weights = resample_counts(len(results), BOOTSTRAP_RESAMPLES, seed=0)
    per_field = []
    rows = []
    for name in fields:
        reference, predicted, labels = field_labels(results, name)
        draws = macro_f1_weighted(labels, reference)(weights, predicted)
        per_field.append(draws)
        rows.append(_corpus_row(variant, f"macro_f1:{name}", summary[name]["macro_f1"], draws, len(results)))
    rows.append(_corpus_row(variant, "field_macro_f1", summary["field_macro_f1"], np.mean(per_field, axis=0), len(results)))
    return rows


def _corpus_row(variant: str, metric: str, value: float, draws: np.ndarray, n: int) -> MetricRow:
    low, high = np.quantile(draws, [0.025, 0.975])
    return MetricRow(variant, metric, "corpus", float(value), float(low), float(high), n, True, False)


def run_metrics(results: Sequence[CaseResult]) -> list[MetricRow]:
    """Every metric of every variant of a run."""
    rows: list[MetricRow] = []
    for variant, items in by_variant(results).items():
        names = sorted({s.metric for r in items for s in r.scores})
        for name in names:
            rows.append(mean_row(variant, name, [v for v in metric_values(items, name) if v is not None]))
        fields = [n.removeprefix("field:") for n in names if n.startswith("field:")]
        rows += corpus_rows(variant, items, fields)
        for name, value in cost_summary(items).items():
            rows.append(MetricRow(variant, name, "cost", None if value is None else float(value), None, None,
                                  len(items), False, False))
    return rows
