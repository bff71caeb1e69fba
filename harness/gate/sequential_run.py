"""The sequential gate's loop (``gate.sequential: true``): generate the held-out cases chunk by chunk, stop once settled.

Each look runs the ordinary runner on a growing prefix of the seeded draw order; the generation cache is
keyed per case, so a look pays only for its new cases, and a rerun of a stopped gate reuses everything it
generated (and may go further if the cases, rules or order ask for more). Only the last look is written as
the gate's run. The checks' records (:class:`~harness.gate.decision.SequentialRecord`) say how many cases
each used and why it stopped.
"""

from __future__ import annotations

import dataclasses
import logging
from typing import NamedTuple

from harness.config.eval_config import EvalConfig
from harness.config.gate import GateRules
from harness.eval.backends import Backend
from harness.eval.cases import load_cases
from harness.eval.runner import EvalOptions, Run, run_eval
from harness.gate.decision import SequentialRecord
from harness.gate.sequential import (
    SequentialSpec,
    draw_order,
    look_sizes,
    sequence_record,
    sequential_specs,
    why_every_case,
)
from harness.records import CaseResult

log = logging.getLogger(__name__)


class SequentialRun(NamedTuple):
    """The gate's run (on the cases it drew) and each sequential check's record by check name."""

    run: Run
    records: dict[str, SequentialRecord]
    stopped_early: bool
    """True when every check settled before the cases ran out."""
    why_all: str = "cases ran out"
    """Why every case was used (when it was): the checks without a sequence, or the unsettled ones."""
    blocking: dict[str, str] = {}
    """The checks without a sequence, name → why (they use every case)."""


def sequential_eval(config: EvalConfig, rules: GateRules, options: EvalOptions, backend: Backend,
                    specs: tuple[list[SequentialSpec], dict[str, str]] | None = None) -> SequentialRun:
    """Run the gate's held-out evaluation look by look (see the module docstring).

    ``specs``: the checks to settle and why others need every case (default: the gate's,
    :func:`~harness.gate.sequential.sequential_specs`; the ladder gives every rung's); records are keyed by name.
    """
    cases = load_cases(config.cases, config.task)[: options.limit]
    order = draw_order([c.id for c in cases], rules.sequential_seed)
    checks, blocking = specs if specs is not None else sequential_specs(rules)
    looks = look_sizes(len(order), rules.min_cases, rules.sequential_chunk)
    records: dict[str, SequentialRecord] = {}
    for look in looks:
        drawn = tuple(order[:look])
        interim = run_eval(config, dataclasses.replace(options, case_ids=drawn, write=False), backend=backend)
        results = _by_variant(interim.results)
        for spec in checks:
            if not records.get(spec.name, _UNSETTLED).stopped.startswith("settled"):
                records[spec.name] = sequence_record(spec, results, rules, drawn, len(order))
        settled = bool(checks) and all(r.stopped.startswith("settled") for r in records.values())
        log.info("sequential gate: look at %d of %d cases, %s", look, len(order),
                 "settled" if settled else "unsettled")
        if (settled and not blocking) or look == looks[-1]:
            final = run_eval(config, dataclasses.replace(options, case_ids=drawn), backend=backend)
            early = settled and not blocking and look < len(order)
            return SequentialRun(final, records, early, why_every_case(records, blocking), blocking)
    return SequentialRun(run_eval(config, options, backend=backend), records, False, blocking=blocking)  # no cases


_UNSETTLED = SequentialRecord(0, 0, "unsettled")


def _by_variant(results: list[CaseResult]) -> dict[str, list[CaseResult]]:
    """Every sample's results by variant (repeats are averaged per case by the sequence)."""
    grouped: dict[str, list[CaseResult]] = {}
    for result in results:
        grouped.setdefault(result.generation.variant, []).append(result)
    return grouped
