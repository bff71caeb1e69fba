"""Per-variant summaries of a run: counts, errors, cache hits, tokens and latency (pandas)."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from harness.records import CaseResult


def results_frame(results: Sequence[CaseResult]) -> pd.DataFrame:
    """One row per result with the generation's fields and one column per scored metric."""
    rows = []
    for r in results:
        g = r.generation
        row = {"case_id": r.case.id, "variant": g.variant, "sample": g.sample, "error": g.error, "cached": g.cached,
               "prompt_tokens": g.prompt_tokens, "completion_tokens": g.completion_tokens, "latency_s": g.latency_s}
        row.update({f"score:{s.metric}": s.value for s in r.scores})
        rows.append(row)
    return pd.DataFrame(rows)


def variant_summary(results: Sequence[CaseResult]) -> pd.DataFrame:
    """Per variant: n, errors, cached, the mean of every per-case metric (unscored cases left out),
    mean prompt/completion tokens and latency p50/p95."""
    frame = results_frame(results)
    if frame.empty:
        return frame
    metrics = [c for c in frame.columns if c.startswith("score:")]
    numeric = ["prompt_tokens", "completion_tokens", "latency_s", *metrics]
    frame[numeric] = frame[numeric].astype(float)  # all-None columns (every request failed) are object dtype
    grouped = frame.groupby("variant", sort=False)
    table = pd.DataFrame({
        "n": grouped.size(),
        "errors": grouped["error"].apply(lambda s: int(s.notna().sum())),
        "cached": grouped["cached"].sum().astype(int),
        **{c.removeprefix("score:"): grouped[c].mean().round(3) for c in metrics},
        "prompt_tok": grouped["prompt_tokens"].mean().round(1),
        "completion_tok": grouped["completion_tokens"].mean().round(1),
        "latency_p50_s": grouped["latency_s"].median().round(3),
        "latency_p95_s": grouped["latency_s"].quantile(0.95).round(3),
    })
    return table
