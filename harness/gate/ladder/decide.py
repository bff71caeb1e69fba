"""The seed's cost ladder as a decision per task: prompt-only → RAG → fine-tuned.

Deploy the cheapest variant that no costlier variant demonstrably beats, among those that pass
the floors and their own checks (leakage, general capability, forgetting for adapters). A rung
replaces the cheaper ones only when it beats *every* cheaper eligible rung on the primary metric
(the gate's :func:`~harness.gate.checks.primary_check`) and loses no field
(:func:`~harness.gate.fields.field_check`). Ties and straddling intervals go to the cheaper rung.
An error or missing data anywhere (a check that is inconclusive with no interval: generation
errors, unscored metrics, missing training data) makes the whole ladder inconclusive: no promotion.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import math
from collections.abc import Mapping, Sequence

from harness.config.gate import GateRules
from harness.gate.checks import data_check, decide, floor_check, judge_check, primary_check, primary_value
from harness.gate.decision import GateCheck, Verdict
from harness.gate.fields import field_check
from harness.gate.ladder.record import LadderDecision, LadderInputs, LadderVerdict, RungCost, RungVerdict
from harness.gate.sequential import rung_records, with_sequences
from harness.gate.sequential_run import SequentialRun
from harness.records import CaseResult

log = logging.getLogger(__name__)

__all__ = ["KIND_RANK", "LadderDecision", "LadderInputs", "Rung", "RungCost", "RungVerdict", "decide_ladder"]

KIND_RANK = {"prompt": 0, "rag": 1, "adapter": 2}
"""Cost order of the variant kinds: what a rung costs to build and serve."""


@dataclasses.dataclass
class Rung:
    """One variant on the ladder, with the checks only it has (leakage, general capability, forgetting)."""

    variant: str
    kind: str
    cost: RungCost
    checks: list[GateCheck] = dataclasses.field(default_factory=list)
    reference: str | None = None
    """The adapter folder or the RAG corpus."""


def decide_ladder(task: str, results: Mapping[str, list[CaseResult]], rungs: Sequence[Rung], rules: GateRules,
                  inputs: LadderInputs | None = None, run: str | None = None,
                  sequential: SequentialRun | None = None) -> LadderDecision:
    """The ladder's decision on scored results of every rung (same cases, sample 0 per variant).

    ``sequential``: with ``gate.sequential``, the run that drew the cases look by look and each rung's check
    records (keyed ``<rung>: <check>``); a settled check of a run that stopped early takes its sequence's verdict.
    """
    rungs = sorted(rungs, key=lambda r: KIND_RANK[r.kind])
    names = [r.variant for r in rungs]
    data = (data_check(dict(results), dataclasses.replace(rules, candidate=names[0], baselines=tuple(names[1:]))) if names
            else GateCheck("data", "inconclusive", "no variant is on the ladder"))
    shared = [data, judge_check(rules)]
    compare = shared[0].verdict == "pass"
    verdicts = [_rung_verdict(rung, names[:i], results, rules, compare, sequential) for i, rung in enumerate(rungs)]
    verdict, chosen, reasons = _choose(shared, verdicts, rules)
    kind = next((r.kind for r in verdicts if r.variant == chosen), None)
    return LadderDecision(verdict, task, chosen, kind, verdicts, reasons, shared,
                          dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), inputs,
                          {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(rules).items()}, run)


def _rung_verdict(rung: Rung, cheaper: list[str], results: Mapping[str, list[CaseResult]], rules: GateRules,
                  compare: bool, sequential: SequentialRun | None = None) -> RungVerdict:
    own = list(rung.checks)
    beats: dict[str, list[GateCheck]] = {}
    if compare:
        floors = [floor_check(metric, floor, results[rung.variant]) for metric, floor in rules.floors.items()]
        here = dataclasses.replace(rules, candidate=rung.variant, baselines=tuple(cheaper))
        for base in cheaper:
            beats[base] = [primary_check(base, dict(results), here)]
            beats[base] += [field_check(base, dict(results), here)] if rules.fields else []
        if sequential is not None:
            records, blocking = rung_records(sequential.records, rung.variant), rung_records(sequential.blocking,
                                                                                               rung.variant)

            def sequenced(checks: list[GateCheck]) -> list[GateCheck]:
                return with_sequences(checks, records, sequential.stopped_early, sequential.why_all, blocking)

            floors = sequenced(floors)
            beats = {base: sequenced(checks) for base, checks in beats.items()}
        own = floors + own
    value = primary_value(results[rung.variant], rules) if compare else None
    return RungVerdict(rung.variant, rung.kind, rung.cost, _verdict(own), own,
                       {b: _verdict(c) for b, c in beats.items()}, [c for cs in beats.values() for c in cs], rung.reference,
                       None if value is None or math.isnan(value) else value)


def _verdict(checks: Sequence[GateCheck]) -> Verdict:
    """Every check combined (no checks: nothing to fail, pass; the shared data check guards the rung's results)."""
    if not checks:
        return "pass"
    return {"accepted": "pass", "rejected": "fail", "inconclusive": "inconclusive"}[decide(checks)]  # type: ignore[return-value]


def gate_checks(decision: LadderDecision, variant: str) -> list[GateCheck]:
    """A rung's checks as a gate decision lists them: the shared ones, its comparisons with each cheaper
    *eligible* rung (the ladder asks no more), its own checks. Accepted exactly when the ladder would let it
    replace every cheaper rung."""
    rung = decision.rung(variant)
    if rung is None:
        return [*decision.checks, GateCheck("on the ladder", "inconclusive", f"{variant} was not evaluated")]
    eligible = {r.variant for r in decision.rungs if r.eligible == "pass"}
    return [*decision.checks, *(c for base in rung.beats if base in eligible for c in rung.checks_vs(base)), *rung.checks]


def missing(check: GateCheck) -> bool:
    """An inconclusive check with no interval: an error or missing data, not a statistical tie."""
    return check.verdict == "inconclusive" and check.interval is None


def _choose(shared: list[GateCheck], rungs: list[RungVerdict],
            rules: GateRules) -> tuple[LadderVerdict, str | None, list[str]]:
    gaps = [f"{c.name}: {c.explanation}" for c in shared if c.verdict != "pass"]
    gaps += [f"{r.variant}: {c.name}: {c.explanation}" for r in rungs for c in r.all_checks() if missing(c)]
    if gaps:
        return "inconclusive", None, ["inconclusive, nothing to deploy: an error or missing data", *gaps]
    eligible = [r for r in rungs if r.eligible == "pass"]
    if not eligible:
        return "none", None, ["no rung is eligible", *(_not_eligible(r) for r in rungs)]
    chosen = eligible[0]
    for rung in eligible[1:]:
        if all(rung.beats.get(c.variant) == "pass" for c in eligible[: eligible.index(rung)]):
            chosen = rung
    return "deploy", chosen.variant, _reasons(chosen, rungs, eligible, rules)


def _reasons(chosen: RungVerdict, rungs: list[RungVerdict], eligible: list[RungVerdict], rules: GateRules) -> list[str]:
    costlier = [r for r in rungs if rungs.index(r) > rungs.index(chosen)]
    lines = [_why_not(r, chosen, eligible, rules) for r in costlier]
    head = f"deploy {chosen.variant}: " + (lines.pop(0) if lines else "no costlier rung is on the ladder")
    for rung in rungs[: rungs.index(chosen)]:
        if rung not in eligible:
            lines.append(_not_eligible(rung))
        else:
            lines.append(f"{chosen.variant} beats {rung.variant} {_figures(chosen.check_vs(rung.variant), rules)}; "
                         f"it costs {chosen.cost.more_than(rung.cost)}")
    return [head, *lines]


def _why_not(rung: RungVerdict, chosen: RungVerdict, eligible: list[RungVerdict], rules: GateRules) -> str:
    if rung not in eligible:
        return _not_eligible(rung)
    cheaper = eligible[: eligible.index(rung)]
    lost = next(c for c in cheaper if rung.beats.get(c.variant) != "pass")
    check = next(c for c in rung.checks_vs(lost.variant) if c.verdict != "pass")
    whom = "it" if lost is chosen else lost.variant
    return f"{rung.variant} does not beat {whom} {_figures(check, rules)}; it costs {rung.cost.more_than(chosen.cost)}"


def _not_eligible(rung: RungVerdict) -> str:
    failed = [c for c in rung.checks if c.verdict != "pass"]
    return f"{rung.variant} is not eligible: " + "; ".join(f"{c.name}: {c.explanation}" for c in failed)


def _figures(check: GateCheck | None, rules: GateRules) -> str:
    if check is None:
        return ""
    if not check.name.startswith("beats "):
        return f"({check.name}: {check.explanation})"
    interval = f" [{check.interval[0]:+.3f}, {check.interval[1]:+.3f}]" if check.interval else ""
    delta = f", delta {check.delta:+.3f}{interval}" if check.delta is not None else f": {check.explanation}"
    return f"on {rules.primary}{delta}"
