"""Aggregate per-case scores into per-variant metrics, including the corpus-level ones.

Per-case metrics (``schema_valid``, ``field:category``, ``answer_correct`` ...) are means
over the cases that could be scored. Corpus-level metrics for labelled fields come from
scikit-learn: macro-F1 and balanced accuracy per field and their mean (``field_macro_f1``,
the triage gate's primary metric: plain accuracy flatters a model that always answers the
majority class), with the majority-class rate beside them.
"""

from __future__ import annotations

import warnings
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.metrics import balanced_accuracy_score, f1_score

from harness.records import CaseResult
from harness.scorers.structured import field_value
from harness.stats import wilson_interval


def by_variant(results: Sequence[CaseResult]) -> dict[str, list[CaseResult]]:
    """Results grouped by variant, each list in case order (sample 0 only)."""
    grouped: dict[str, list[CaseResult]] = defaultdict(list)
    for result in results:
        if result.generation.sample == 0:
            grouped[result.generation.variant].append(result)
    for items in grouped.values():
        items.sort(key=lambda r: r.case.id)
    return dict(grouped)


def metric_values(results: Sequence[CaseResult], metric: str) -> list[float | None]:
    """One value per result (None where the metric could not be scored or does not apply)."""
    values = []
    for result in results:
        value = next((s.value for s in result.scores if s.metric == metric), None)
        values.append(value)
    return values


def per_case_summary(results: Sequence[CaseResult]) -> dict[str, dict[str, Any]]:
    """mean, n, unscored and (for 0/1 metrics) the Wilson interval of every per-case metric."""
    names = sorted({s.metric for r in results for s in r.scores})
    summary = {}
    for name in names:
        values = metric_values(results, name)
        scored = [v for v in values if v is not None]
        entry: dict[str, Any] = {"mean": float(np.mean(scored)) if scored else None, "n": len(scored),
                                 "unscored": len(values) - len(scored)}
        if scored and set(scored) <= {0.0, 1.0}:
            entry["wilson95"] = wilson_interval(int(sum(scored)), len(scored))
        summary[name] = entry
    return summary


def field_labels(results: Sequence[CaseResult], field: str) -> tuple[list[str], list[str], list[str]]:
    """Reference and predicted labels of a field (``<invalid>`` for unusable outputs) and the label set."""
    reference = [field_value(r.case.reference, field) for r in results]
    predicted = [field_value(r.generation.text, field) for r in results]
    return reference, predicted, sorted(set(reference))


def field_summary(results: Sequence[CaseResult], fields: Sequence[str]) -> dict[str, Any]:
    """Per field: accuracy, macro-F1, balanced accuracy, majority-class rate; and the mean macro-F1."""
    out: dict[str, Any] = {}
    for field in fields:
        reference, predicted, labels = field_labels(results, field)
        majority = max(labels, key=reference.count) if labels else None
        out[field] = {
            "accuracy": float(np.mean([a == b for a, b in zip(reference, predicted, strict=True)])),
            "macro_f1": float(f1_score(reference, predicted, labels=labels, average="macro", zero_division=0)),
            "balanced_accuracy": _balanced_accuracy(reference, predicted) if labels else 0.0,
            "majority_label": majority,
            "majority_rate": reference.count(majority) / len(reference) if majority else None,
        }
    if fields:
        out["field_macro_f1"] = float(np.mean([out[f]["macro_f1"] for f in fields]))
    return out


def _balanced_accuracy(reference: list[str], predicted: list[str]) -> float:
    with warnings.catch_warnings():  # predictions outside the reference labels (e.g. <invalid>) are expected
        warnings.simplefilter("ignore", UserWarning)
        return float(balanced_accuracy_score(reference, predicted))


def variant_metrics(results: Sequence[CaseResult], fields: Sequence[str]) -> dict[str, dict[str, Any]]:
    """Per variant: per-case metric means, per-field corpus metrics (with majority-class rate) and cost."""
    return {variant: {"metrics": per_case_summary(items), "fields": field_summary(items, fields) if fields else {},
                      "cost": cost_summary(items)}
            for variant, items in by_variant(results).items()}


def cost_summary(results: Sequence[CaseResult]) -> dict[str, Any]:
    """Prompt and completion tokens (mean, total) and latency p50/p95 of a variant."""
    prompt = [r.generation.prompt_tokens for r in results if r.generation.prompt_tokens is not None]
    completion = [r.generation.completion_tokens for r in results if r.generation.completion_tokens is not None]
    latency = [r.generation.latency_s for r in results if r.generation.latency_s is not None]
    return {
        "prompt_tokens_mean": float(np.mean(prompt)) if prompt else None,
        "completion_tokens_mean": float(np.mean(completion)) if completion else None,
        "latency_p50_s": float(np.percentile(latency, 50)) if latency else None,
        "latency_p95_s": float(np.percentile(latency, 95)) if latency else None,
        "errors": sum(r.generation.error is not None for r in results),
    }
