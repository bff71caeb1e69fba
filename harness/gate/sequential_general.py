"""The sequential general-capability check, and why the forgetting check stays fixed-n.

With ``gate.sequential: true`` the general-capability items are generated in a seeded random order, in chunks of
``gate.sequential_chunk`` after a first look at ``min_cases`` items, for the base model and the candidate. Each
item gives a paired difference of ``general_pass`` (candidate − base, in [-1, 1]); after each look a betting
confidence sequence (:mod:`harness.stats_sequential`) of its mean is compared with ``-gate.general.tolerance``.
Wholly above it: pass; wholly below: fail; either way generation stops. When the items run out first, the
fixed-n check on every item decides, as without ``gate.sequential``.

The forgetting check has no sequence: its per-text values are token losses, unbounded above (a token's loss is
-log p, and p can be as small as the model likes), so there is no range to bet in without clipping, and clipping
would change the statistic the tolerance is about (a relative change of the *mean* loss, itself estimated from
the same texts). It costs two forward passes per text, not a generation. It stays fixed-n and says so.
"""

from __future__ import annotations

import dataclasses
import logging

import numpy as np

from harness.config.eval_config import EvalConfig
from harness.config.gate import GateRules
from harness.eval.backends import Backend
from harness.eval.cases import load_cases
from harness.eval.runner import EvalOptions, run_eval
from harness.gate.checks import regression_check
from harness.gate.decision import GateCheck, SequentialRecord
from harness.gate.probes import forgetting_check, general_check, general_config
from harness.gate.sequential import (
    SequentialSpec,
    case_values,
    draw_order,
    fixed_n,
    look_sizes,
    sequence_record,
    settled_verdict,
)
from harness.records import CaseResult
from harness.scorers.metrics import by_variant, metric_values

log = logging.getLogger(__name__)

GENERAL = "general capability (general_pass)"
FORGETTING_REASON = ("token-loss differences are unbounded (no range to bet in without clipping, which would change "
                     "the mean the tolerance is about), and cost a forward pass per text, not a generation")


def capability_checks(config: EvalConfig, rules: GateRules, backend: Backend, options: EvalOptions) -> list[GateCheck]:
    """The general-capability and forgetting checks the rules ask for: with ``gate.sequential``, the general check
    stops once settled and the forgetting check says why it is fixed-n (the gate and the ladder both use this)."""
    checks = []
    if rules.general.items:
        general = sequential_general_check if rules.sequential else general_check
        checks.append(general(config, rules, backend, options))
    if rules.forgetting.text:
        forgetting = forgetting_check(rules, backend, options)
        checks.append(fixed_n(forgetting, forgetting.n or 0, FORGETTING_REASON) if rules.sequential else forgetting)
    return checks


def sequential_general_check(config: EvalConfig, rules: GateRules, backend: Backend, options: EvalOptions) -> GateCheck:
    """The general-capability check, stopping once its confidence sequence is settled (see the module docstring)."""
    general = general_config(config, rules)
    items = load_cases(general.cases, "general")
    order = draw_order([c.id for c in items], rules.sequential_seed)
    spec = SequentialSpec(GENERAL, "general_pass", "base", -rules.general.tolerance, candidate=rules.candidate)
    looks = look_sizes(len(order), rules.min_cases, rules.sequential_chunk)
    options = dataclasses.replace(options, variants=None)
    record = SequentialRecord(0, len(order), "unsettled")
    for look in looks:
        drawn = tuple(order[:look])
        interim = run_eval(general, dataclasses.replace(options, case_ids=drawn, write=False), backend=backend)
        record = sequence_record(spec, by_variant(interim.results), rules, drawn, len(order))
        verdict = settled_verdict(record)
        log.info("sequential general check: look at %d of %d items, %s", look, len(order), record.stopped)
        if verdict is not None and look < len(order):
            run_eval(general, dataclasses.replace(options, case_ids=drawn), backend=backend)  # the run, as fixed-n writes
            return _settled(record, verdict, interim.results, rules)
    run = run_eval(general, options, backend=backend)
    results = by_variant(run.results)
    base = metric_values(results["base"], "general_pass")
    cand = metric_values(results[rules.candidate], "general_pass")
    pairs = [(b, c) for b, c in zip(base, cand, strict=True) if b is not None and c is not None]
    check = regression_check(GENERAL, [p[0] for p in pairs], [p[1] for p in pairs], rules.general.tolerance, rules)
    why = (f"{record.stopped} after {record.cases_used} items; the items ran out: the fixed-n verdict on all "
           f"{len(order)}" if settled_verdict(record) else f"{record.stopped}; the items ran out: the fixed-n verdict")
    return dataclasses.replace(check, sequential=dataclasses.replace(record, cases_used=len(order), stopped=why))


def _settled(record: SequentialRecord, verdict: str, results: list[CaseResult], rules: GateRules) -> GateCheck:
    grouped = by_variant(results)
    base = case_values(grouped.get("base", []), "general_pass")
    cand = case_values(grouped.get(rules.candidate, []), "general_pass")
    paired = [c for c in cand if c in base]
    observed = {"base": float(np.mean([base[c] for c in paired])), "candidate": float(np.mean([cand[c] for c in paired]))}
    text = (f"anytime-valid {record.statistic} in [{record.low:+.3f}, {record.high:+.3f}] after {record.cases_used} of "
            f"{record.cases_available} items: {record.stopped} -tolerance {record.threshold:+.3f}")
    return GateCheck(GENERAL, verdict, text, observed=observed, threshold=rules.general.tolerance,  # type: ignore[arg-type]
                     delta=observed["candidate"] - observed["base"], n=len(paired), sequential=record)
