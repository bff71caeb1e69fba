"""``harness gate CANDIDATE``: accept or reject a candidate adapter against the baselines.

``harness gate --variant rag``: the same for a prompt or RAG variant against the cheaper rungs
(decision under ``<registry root>/decisions/<task>/variants/``; deploy it with ``harness decide --promote``).

Exit 0 accepted, 1 not accepted (rejected or inconclusive), 2 usage or input error.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from harness.cli.options import add_cache_options, add_config_option, add_format_option, print_json, wants_json
from harness.gate.decision import decision_table

__all__ = ["decision_table", "register", "run"]


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("gate", help="accept or reject a candidate adapter", description=__doc__)
    parser.add_argument("candidate", nargs="?", help="candidate folder written by `harness train`")
    parser.add_argument("--variant", help="gate this prompt or RAG variant of the config against the cheaper rungs instead")
    add_config_option(parser, help="eval config with a gate section (default: ./harness.yaml)")
    parser.add_argument("--promote", action="store_true", help="on accept, make it the task's current adapter")
    parser.add_argument("--runs-dir", default="runs", help="where the gate's eval run is written")
    parser.add_argument("--repeats", type=int, default=1,
                        help="outputs per case with sampling (default 1); statistics take the case, not the sample, as the unit")
    add_cache_options(parser)
    add_format_option(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from harness.errors import InputError
    from harness.eval.runner import EvalOptions
    from harness.gate.promote import promote
    from harness.gate.run import run_gate
    from harness.registry.deployments import registry_root

    if args.repeats < 1:
        raise InputError(f"--repeats must be a positive integer, got {args.repeats}", code="bad-option")
    if args.variant or not args.candidate:
        return _run_variant(args)
    decision = run_gate(args.candidate, args.config, EvalOptions(runs_dir=Path(args.runs_dir), cache_mode=args.cache_mode,
                                                                 repeats=args.repeats))
    if not wants_json(args):
        print(decision_table(decision))
    promoted = None
    if decision.verdict == "accepted" and args.promote:
        root = Path(args.candidate).resolve().parent
        entry = promote(args.candidate, root)
        promoted = {"task": decision.task, "registry": registry_root(root), "current": entry.current,
                    "previous": entry.history[-1] if entry.history else None}
        if not wants_json(args):
            print(f"promoted {Path(args.candidate).name} to current adapter of {decision.task} in {registry_root(root)}"
                  f" (previous: {entry.history[-1] if entry.history else 'none'})")
    if wants_json(args):
        print_json({"decision": decision, "promoted": promoted})
    return 0 if decision.verdict == "accepted" else 1


def _run_variant(args: argparse.Namespace) -> int:
    from harness.errors import InputError
    from harness.eval.runner import EvalOptions
    from harness.gate.ladder.run import variant_decision
    from harness.gate.store import write_decision

    if not args.variant or args.candidate or args.promote:
        raise InputError("give a CANDIDATE folder, or --variant NAME without a candidate and without --promote "
                         "(variants are deployed by `harness decide --promote`)", code="usage")
    decision = variant_decision(args.variant, args.config, EvalOptions(runs_dir=Path(args.runs_dir),
                                                                       cache_mode=args.cache_mode, repeats=args.repeats))
    write_decision(decision, Path(decision.candidate_path or "."))
    if wants_json(args):
        print_json({"decision": decision, "promoted": None})
    else:
        print(decision_table(decision))
    return 0 if decision.verdict == "accepted" else 1
