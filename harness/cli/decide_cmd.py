"""``harness decide --config harness.yaml``: run the task's ladder (prompt-only → RAG → fine-tuned) and recommend a rung.

Writes the ladder decision under ``<registry root>/decisions/<task>/`` (history kept) and prints
the recommendation with its reasons. Exit 0 when a deployment is recommended (and, with
``--promote``, promoted), 1 when nothing is (inconclusive, or no rung eligible), 2 bad input.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from harness.cli.options import add_cache_options, add_config_option, add_format_option, print_json, wants_json

if TYPE_CHECKING:
    from harness.eval.runner import EvalOptions
    from harness.gate.ladder.record import LadderDecision


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("decide", help="decide which rung of the ladder serves a task", description=__doc__)
    add_config_option(parser, help="the task's eval config (default: ./harness.yaml)")
    parser.add_argument("--candidate", help="candidate adapter folder for the fine-tuned rung (default: its registry reference)")
    parser.add_argument("--promote", action="store_true", help="deploy the recommended rung")
    parser.add_argument("--root", help="registry folder (default: $HARNESS_REGISTRY or ./candidates)")
    parser.add_argument("--runs-dir", default="runs", help="where the ladder's eval run is written")
    add_cache_options(parser)
    add_format_option(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from harness.eval.runner import EvalOptions
    from harness.gate.ladder.run import run_ladder
    from harness.gate.ladder.store import write_ladder
    from harness.gate.promote import promote_ladder
    from harness.gate.run import check_writable
    from harness.registry.deployments import registry_root

    root = registry_root(args.root)
    check_writable(root, Path(args.runs_dir))
    candidate = Path(args.candidate) if args.candidate else None
    decision = run_ladder(args.config, EvalOptions(runs_dir=Path(args.runs_dir), cache_mode=args.cache_mode), candidate)
    history = write_ladder(decision, root)
    if not wants_json(args):
        print_ladder(decision, history)
        print_changed_items(decision, args.config, EvalOptions(runs_dir=Path(args.runs_dir), cache_mode=args.cache_mode))
    promoted = None
    if decision.verdict == "deploy" and args.promote:
        entry = promote_ladder(decision.task, root)
        assert entry.current is not None
        promoted = {"task": decision.task, "registry": root, "current": entry.current,
                    "previous": entry.history[-1] if entry.history else None}
        if not wants_json(args):
            previous = entry.history[-1].describe() if entry.history else "none"
            print(f"deployed {entry.current.describe()} for {decision.task} in {root} (previous: {previous})")
    if wants_json(args):
        print_json({"decision": decision, "decision_file": history, "promoted": promoted})
    return 0 if decision.verdict == "deploy" else 1


def print_ladder(decision: LadderDecision, history: Path) -> None:
    """The recommendation, the table of rungs (metric, comparisons, checks, cost), the reasons and the remedies."""
    from harness.gate.ladder.table import ladder_table, remedies

    print(f"ladder {decision.task}: {decision.verdict.upper()}{f' {decision.chosen}' if decision.chosen else ''}")
    for line in ladder_table(decision):
        print(f"  {line}")
    for line in decision.reasons[1:]:
        print(f"  {line}")
    for line in remedies(decision, replay_used(decision)):
        print(line)
    print(f"decision: {history}")


def replay_used(decision: LadderDecision) -> dict[str, bool]:
    """Per adapter rung: whether its candidate trained with replay (its manifest records ``data.replay``)."""
    from harness.errors import HarnessError
    from harness.manifests import read_candidate_manifest

    used = {}
    for rung in decision.rungs:
        if rung.kind == "adapter" and rung.reference:
            try:
                data = read_candidate_manifest(Path(rung.reference)).data
            except HarnessError:
                continue
            used[rung.variant] = bool(data and data.extra.get("replay"))
    return used


def print_changed_items(decision: LadderDecision, config_path: str, options: EvalOptions) -> None:
    """For an adapter rung whose general check fails while token loss passes: 2-3 general items it changed."""
    from harness.eval.backends import make_backend
    from harness.gate.ladder.changed import changed_general_items
    from harness.gate.ladder.run import ladder_rules
    from harness.gate.ladder.table import disagrees
    from harness.gate.run import loaded_config

    rungs = [r for r in decision.rungs if r.kind == "adapter" and r.reference and disagrees(r)]
    if not rungs:
        return
    config = loaded_config(config_path)
    rules, backend = ladder_rules(config), make_backend(config)
    for rung in rungs:
        items = changed_general_items(config, rules, rung.variant, Path(rung.reference or ""), backend, options)
        print(f"general items {rung.variant} answers differently (base model against candidate), of {rules.general.items}:")
        for item in items:
            for line in item.lines():
                print(line)
