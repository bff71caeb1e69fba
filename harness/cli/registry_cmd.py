"""``harness registry list|show|promote|rollback``: the candidates and each task's current adapter."""

from __future__ import annotations

import argparse
import json


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("registry", help="list, show, promote and roll back adapters", description=__doc__)
    parser.add_argument("--root", help="registry folder (default: $HARNESS_REGISTRY or ./candidates)")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    actions.add_parser("list", help="candidates with their verdicts, and the current adapter per task").set_defaults(
        handler=run_list)
    show = actions.add_parser("show", help="a candidate's manifest summary and decision")
    show.add_argument("candidate")
    show.set_defaults(handler=run_show)
    promote = actions.add_parser("promote", help="make an accepted candidate its task's current adapter")
    promote.add_argument("candidate")
    promote.add_argument("--force", action="store_true", help="promote without an accepted decision (recorded)")
    promote.set_defaults(handler=run_promote)
    rollback = actions.add_parser("rollback", help="make a task's previous adapter current again")
    rollback.add_argument("task")
    rollback.set_defaults(handler=run_rollback)


def run_list(args: argparse.Namespace) -> int:
    from harness.registry import INDEX, candidates, registry_root

    root = registry_root(args.root)
    index = json.loads((root / INDEX).read_text()) if (root / INDEX).exists() else {"tasks": {}}
    currents = {entry.get("current"): task for task, entry in index["tasks"].items()}
    for item in candidates(root):
        mark = f"  <- current {currents[item['id']]}" if item["id"] in currents else ""
        print(f"{item['id']:40} {item['task'] or '-':12} {item['verdict']:13}{mark}")
    return 0


def run_show(args: argparse.Namespace) -> int:
    from harness.errors import InputError
    from harness.registry import registry_root

    folder = registry_root(args.root) / args.candidate
    if not (folder / "manifest.json").exists():
        raise InputError("no such candidate in the registry", path=str(folder), code="not-a-candidate")
    manifest = json.loads((folder / "manifest.json").read_text())
    print(json.dumps({k: manifest.get(k) for k in ("id", "task", "created_at", "base_model", "epochs", "best_epoch", "stats")},
                     indent=2))
    if (folder / "decision.json").exists():
        from harness.cli.gate_cmd import decision_table

        print(decision_table(json.loads((folder / "decision.json").read_text())))
    return 0


def run_promote(args: argparse.Namespace) -> int:
    from harness.registry import promote

    entry = promote(args.candidate, args.root, force=args.force)
    print(f"current: {entry['current']} (history: {', '.join(entry['history']) or 'none'})")
    return 0


def run_rollback(args: argparse.Namespace) -> int:
    from harness.registry import rollback

    entry = rollback(args.task, args.root)
    print(f"current: {entry['current']}")
    return 0
