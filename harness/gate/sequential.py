"""The sequential gate's checks: which checks can stop early, and whether each is settled.

A check on held-out cases is *sequential* when its statistic is the mean of bounded per-case values:
the primary metric's paired difference (``gate.margin``) and the floors (``gate.floors``). For each,
:mod:`harness.stats_sequential` builds an anytime-valid betting confidence sequence over the cases in
their seeded draw order; the check is *settled* once the sequence lies wholly on one side of its
threshold. A pass/fail primary with margin 0 uses the discordant pairs only (the candidate's share of
the cases where exactly one variant passes, against 1/2: the sequential McNemar). Corpus metrics
(``field_macro_f1``, the per-field checks) and the parity check have no such sequence here: a gate
with them uses every case. With repeats, each case's samples are averaged first (the case is the unit).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import NamedTuple

import numpy as np

from harness.config.gate import CORPUS_METRIC, GateRules
from harness.gate.decision import GateCheck, SequentialRecord, Verdict
from harness.records import CaseResult
from harness.stats_sequential import betting_bounds, mean_grid, paired_to_unit, settled_side


def look_sizes(n_cases: int, min_cases: int, chunk: int) -> list[int]:
    """Cases seen at each look: ``min_cases`` first (never fewer: too few cases is not a pass), then every ``chunk``."""
    first = min(max(min_cases, 1), n_cases)
    return sorted({*range(first, n_cases, max(chunk, 1)), n_cases}) if n_cases else []


def draw_order(case_ids: Sequence[str], seed: int) -> list[str]:
    """The held-out cases in the seeded random order the sequential gate draws them in."""
    ids = sorted(set(case_ids))
    return [ids[i] for i in np.random.default_rng(seed).permutation(len(ids))]


@dataclass(frozen=True)
class SequentialSpec:
    """One check the sequence can settle: its name (as the fixed-n check names it) and what it averages."""

    name: str
    metric: str
    baseline: str | None
    """The baseline of a paired difference; None for a floor (one-sample mean of the candidate)."""
    threshold: float


def sequential_specs(rules: GateRules) -> tuple[list[SequentialSpec], list[str]]:
    """The sequential checks of the held-out comparisons, and why the others need every case."""
    specs, blocking = [], []
    if rules.primary == CORPUS_METRIC:
        blocking.append(f"{CORPUS_METRIC} is a corpus metric (no anytime-valid sequence): every case is used")
    else:
        specs += [SequentialSpec(f"beats {b} on {rules.primary}", rules.primary, b, rules.margin) for b in rules.baselines]
    if rules.fields:
        blocking.append("per-field macro-F1 checks are corpus metrics: every case is used")
    if rules.parity.floor is not None:
        blocking.append("the serving parity check uses every case")
    specs += [SequentialSpec(f"{metric} floor", metric, None, floor) for metric, floor in rules.floors.items()]
    return specs, blocking


def case_values(results: Sequence[CaseResult], metric: str) -> dict[str, float]:
    """Per case, the mean of ``metric`` over its scored samples (repeats are one case, not K cases)."""
    sums: dict[str, list[float]] = {}
    for result in results:
        value = next((s.value for s in result.scores if s.metric == metric), None)
        if value is not None:
            sums.setdefault(result.case.id, []).append(float(value))
    return {case: float(np.mean(values)) for case, values in sums.items()}


def sequence_record(spec: SequentialSpec, results: dict[str, list[CaseResult]], rules: GateRules,
                    order: Sequence[str], available: int) -> SequentialRecord:
    """The spec's confidence sequence over the drawn cases ``order`` (all results, every sample), as a record."""
    cand = case_values(results.get(rules.candidate, []), spec.metric)
    base = case_values(results.get(spec.baseline, []), spec.metric) if spec.baseline else None
    ids = [c for c in order if c in cand and (base is None or c in base)]
    values = np.array([cand[c] - (base[c] if base is not None else 0.0) for c in ids])
    if len(values) < rules.min_cases:  # too few cases is not a pass, however clear they look
        return SequentialRecord(len(order), available, f"unsettled: {len(values)} scored cases, fewer than min_cases")
    if values.min() < (-1 if base is not None else 0) or values.max() > 1:
        return SequentialRecord(len(order), available, "unsettled: scores outside [0, 1] have no betting sequence here")
    binary = base is not None and {*(cand[c] for c in ids), *(base[c] for c in ids)} <= {0.0, 1.0}
    stat = _statistic(spec, values, paired=base is not None, binary=binary)
    bounds = betting_bounds(stat.x, 1 - rules.confidence, [len(stat.x)], observed=stat.seen,
                            grid=mean_grid(1001, [stat.tau]))
    low, high = float(bounds.low[0, -1]), float(bounds.high[0, -1])
    stopped = {1: "settled above the threshold", -1: "settled below the threshold", 0: "unsettled"}[
        int(settled_side(low, high, stat.tau))]
    scale, shift = stat.scale
    return SequentialRecord(len(order), available, stopped, stat.what, scale * low + shift, scale * high + shift,
                            scale * stat.tau + shift)


class _Statistic(NamedTuple):
    x: np.ndarray
    """Observations in [0, 1]."""
    seen: np.ndarray | None
    """Which observations bet (the discordant pairs), None: all."""
    tau: float
    """The threshold on the [0, 1] scale."""
    what: str
    scale: tuple[float, float]
    """(a, b): the statistic's scale is a * x + b."""


def _statistic(spec: SequentialSpec, values: np.ndarray, *, paired: bool, binary: bool) -> _Statistic:
    if binary and spec.threshold == 0:
        return _Statistic((values > 0).astype(float), values != 0, 0.5, "candidate's share of discordant pairs", (1, 0))
    if paired:
        return _Statistic(paired_to_unit(values), None, (spec.threshold + 1) / 2, "paired mean difference", (2, -1))
    return _Statistic(values, None, spec.threshold, f"candidate mean of {spec.metric}", (1, 0))


def settled_verdict(record: SequentialRecord) -> Verdict | None:
    """The verdict a settled record gives (above the threshold passes, below fails); None while unsettled."""
    if record.stopped.startswith("settled above"):
        return "pass"
    if record.stopped.startswith("settled below"):
        return "fail"
    return None


def with_sequences(checks: list[GateCheck], records: dict[str, SequentialRecord], stopped_early: bool) -> list[GateCheck]:
    """The checks with their sequence records; a gate that stopped early takes each settled check's verdict from
    its sequence (fixed-n intervals on a stopped sample are not valid); one that used every case keeps the fixed-n
    verdicts, as without ``gate.sequential``."""
    out = []
    for check in checks:
        record = records.get(check.name)
        if record is None:
            out.append(check)
            continue
        verdict = settled_verdict(record)
        if not stopped_early or verdict is None:
            reason = record.stopped if stopped_early else f"{record.stopped}; cases ran out: the fixed-n verdict"
            out.append(replace(check, sequential=replace(record, stopped=reason)))
            continue
        text = (f"anytime-valid {record.statistic} in [{record.low:+.3f}, {record.high:+.3f}] after "
                f"{record.cases_used} of {record.cases_available} cases: {record.stopped} {record.threshold:+.3f}")
        out.append(replace(check, verdict=verdict, explanation=text, sequential=record))
    return out
