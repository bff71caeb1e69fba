"""The sequential gate's checks: which checks can stop early, and whether each is settled.

A check on held-out cases is *sequential* when an anytime-valid confidence sequence exists for its statistic:

- the mean of bounded per-case values: the primary metric's paired difference (``gate.margin``) and the floors
  (``gate.floors``), each a betting confidence sequence (:mod:`harness.stats_sequential`) over the cases in their
  seeded draw order; a pass/fail primary with margin 0 uses the discordant pairs only (the candidate's share of
  the cases where exactly one variant passes, against 1/2: the sequential McNemar);
- nothing else: ``field_macro_f1`` and the per-field macro-F1 checks are ratios of corpus counts, not means of
  per-case scores. The one valid sequence found for them (per-class count sequences joined by a union bound,
  :mod:`harness.gate.sequential_corpus`) is far too wide to settle at held-out sizes like the demo's (measured in
  ``bench/sequential.py``), so they use every case, and the decision says so per check.

A check is *settled* once its sequence lies wholly on one side of its threshold. The serving parity check has no
sequence either (it compares the engine's answer on every case). A gate with any check that has no sequence uses
every case. With repeats, each case's samples are averaged first (the case is the unit). Every held-out check of
a sequential gate records the cases it used and why it stopped (:class:`~harness.gate.decision.SequentialRecord`),
including the checks that had to use every case and why.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import NamedTuple, TypeVar

import numpy as np

from harness.config.gate import CORPUS_METRIC, GateRules
from harness.gate.decision import GateCheck, SequentialRecord, Verdict
from harness.gate.parity import NAME as PARITY_NAME
from harness.records import CaseResult
from harness.stats_sequential import betting_bounds, mean_grid, paired_to_unit, settled_side

V = TypeVar("V")


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
    candidate: str | None = None
    """The variant judged (None: the rules' candidate; the ladder judges every rung)."""


CORPUS_REASON = (f"{CORPUS_METRIC} is a ratio of corpus counts (the mean over fields and classes of 2TP/(2TP+FP+FN)), "
                 "not a mean of per-case scores: no betting sequence of a mean applies, and the valid union-bound "
                 "sequence over per-class counts (harness.gate.sequential_corpus) is too wide to settle at this size "
                 "(bench/sequential.py)")
PARITY_REASON = "the serving parity check compares the engine's answer on every case: it has no sequence"


def sequential_specs(rules: GateRules) -> tuple[list[SequentialSpec], dict[str, str]]:
    """The sequential checks of the held-out comparisons, and the checks that need every case (name → why)."""
    specs: list[SequentialSpec] = []
    blocking: dict[str, str] = {}
    if rules.primary == CORPUS_METRIC:
        blocking.update({f"beats {b} on {rules.primary}": CORPUS_REASON for b in rules.baselines})
    else:
        specs += [SequentialSpec(f"beats {b} on {rules.primary}", rules.primary, b, rules.margin) for b in rules.baselines]
    if rules.fields:
        blocking.update({f"fields no worse than {b}": f"per-field macro-F1: {CORPUS_REASON}" for b in rules.baselines})
    if rules.parity.floor is not None:
        blocking[PARITY_NAME] = PARITY_REASON
    specs += [SequentialSpec(f"{metric} floor", metric, None, floor) for metric, floor in rules.floors.items()]
    return specs, blocking


def ladder_specs(rules: GateRules, ranked: Sequence[str]) -> tuple[list[SequentialSpec], dict[str, str]]:
    """The ladder's sequential checks (every rung against every cheaper one, every rung's floors), named
    ``<rung>: <check>``, and the checks that need every case; ``ranked``: the rungs cheapest first."""
    specs: list[SequentialSpec] = []
    blocking: dict[str, str] = {}
    for index, rung in enumerate(ranked):
        here = replace(rules, candidate=rung, baselines=tuple(ranked[:index]), parity=replace(rules.parity, floor=None))
        rung_specs, rung_blocking = sequential_specs(here)
        specs += [replace(s, name=f"{rung}: {s.name}", candidate=rung) for s in rung_specs]
        blocking.update({f"{rung}: {name}": why for name, why in rung_blocking.items()})
    return specs, blocking


def rung_records(keyed: Mapping[str, V], rung: str) -> dict[str, V]:
    """The entries of one rung (keys ``<rung>: <check>``) by check name."""
    prefix = f"{rung}: "
    return {k.removeprefix(prefix): v for k, v in keyed.items() if k.startswith(prefix)}


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
    cand = case_values(results.get(spec.candidate or rules.candidate, []), spec.metric)
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


def with_sequences(checks: list[GateCheck], records: dict[str, SequentialRecord], stopped_early: bool,
                   why_all: str = "cases ran out", blocking: dict[str, str] | None = None) -> list[GateCheck]:
    """The checks with their sequence records; a gate that stopped early takes each settled check's verdict from
    its sequence (fixed-n intervals on a stopped sample are not valid); one that used every case keeps the fixed-n
    verdicts, as without ``gate.sequential``, and ``why_all`` says why it used every case. The checks named in
    ``blocking`` (no sequence) get a fixed-n record with their reason."""
    out = []
    for check in checks:
        record = records.get(check.name)
        if record is None:
            why = (blocking or {}).get(check.name)
            out.append(fixed_n(check, check.n or 0, why) if why else check)
            continue
        verdict = settled_verdict(record)
        if not stopped_early or verdict is None:
            if stopped_early:
                reason = record.stopped
            elif verdict is None:
                reason = f"{record.stopped}; {why_all}: the fixed-n verdict on all {record.cases_available} cases"
            else:
                reason = (f"{record.stopped} after {record.cases_used} cases; {why_all}: the fixed-n verdict on all "
                          f"{record.cases_available} cases")
                record = replace(record, cases_used=record.cases_available)
            out.append(replace(check, sequential=replace(record, stopped=reason)))
            continue
        text = (f"anytime-valid {record.statistic} in [{record.low:+.3f}, {record.high:+.3f}] after "
                f"{record.cases_used} of {record.cases_available} cases: {record.stopped} {record.threshold:+.3f}")
        out.append(replace(check, verdict=verdict, explanation=text, sequential=record))
    return out


def fixed_n(check: GateCheck, cases: int, why: str) -> GateCheck:
    """``check`` (computed on all ``cases``) with a record saying it has no sequence and why."""
    return replace(check, sequential=SequentialRecord(cases, cases, f"fixed-n: {why}"))


def why_every_case(records: dict[str, SequentialRecord], blocking: dict[str, str]) -> str:
    """Why a sequential gate used every held-out case: the checks without a sequence, else the unsettled ones."""
    if blocking:
        return f"{', '.join(blocking)} have no anytime-valid sequence"
    unsettled = [name for name, r in records.items() if settled_verdict(r) is None]
    return f"cases ran out before {', '.join(unsettled)} settled" if unsettled else "cases ran out"
