"""``harness registry list|show|promote|rollback``: the candidates and each task's current deployment."""

from __future__ import annotations

import argparse
import json

from harness.cli.options import add_format_option, print_json, wants_json


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("registry", help="list, show, promote and roll back adapters", description=__doc__)
    parser.add_argument("--root", help="registry folder (default: $HARNESS_REGISTRY or ./candidates)")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    listing = actions.add_parser("list", help="candidates with their verdicts, and the current adapter per task")
    add_format_option(listing)
    listing.set_defaults(handler=run_list)
    show = actions.add_parser("show", help="a candidate's manifest summary and decision")
    show.add_argument("candidate")
    add_format_option(show)
    show.set_defaults(handler=run_show)
    promote = actions.add_parser("promote", help="make an accepted candidate its task's current adapter")
    promote.add_argument("candidate")
    promote.add_argument("--force", action="store_true", help="promote without an accepted decision (recorded)")
    promote.set_defaults(handler=run_promote)
    rollback = actions.add_parser("rollback", help="make a task's previous adapter current again")
    rollback.add_argument("task")
    rollback.set_defaults(handler=run_rollback)


def run_list(args: argparse.Namespace) -> int:
    """List candidates; a damaged one is listed, marked and explained, and the rest still show."""
    from harness.errors import InputError
    from harness.gate.promote import candidates
    from harness.registry.deployments import registry_root
    from harness.registry.index import load_index

    root = registry_root(args.root)
    if root.exists() and not root.is_dir():
        raise InputError("the registry root is not a folder; give the folder `harness train` writes candidates to",
                         path=str(root), code="not-a-folder")
    index = load_index(root)
    currents = {entry.current.id: task for task, entry in index.items() if entry.current and entry.current.kind == "adapter"}
    if wants_json(args):
        print_json({"root": root, "candidates": [{**vars(item), "current_for": currents.get(item.id)}
                                                 for item in candidates(root)],
                    "deployments": {task: {"current": entry.current, "history": entry.history}
                                    for task, entry in index.items()}})
        return 0
    for item in candidates(root):
        mark = f"  <- current {currents[item.id]}" if item.id in currents else ""
        problem = f"  ({item.problem})" if item.problem else ""
        print(f"{item.id:40} {item.task or '-':12} {item.verdict:13}{mark}{problem}")
    for task, entry in index.items():
        if entry.current and entry.current.kind != "adapter":  # a prompt or RAG variant of the task's config
            print(f"{'(variant) ' + entry.current.describe():40} {task:12} {'deployed':13}  <- current {task}")
    return 0


def run_show(args: argparse.Namespace) -> int:
    from harness.errors import InputError
    from harness.gate.decision import decision_table
    from harness.gate.store import LATEST, load_decision
    from harness.manifests import read_candidate_manifest
    from harness.registry.deployments import registry_root

    folder = registry_root(args.root) / args.candidate
    if not (folder / "manifest.json").exists():
        raise InputError("no such candidate in the registry", path=str(folder), code="not-a-candidate")
    summary = read_candidate_manifest(folder).summary()
    if wants_json(args):
        print_json({"manifest": summary, "decision": load_decision(folder / LATEST) if (folder / LATEST).exists() else None})
        return 0
    print(json.dumps(summary, indent=2))
    if (folder / LATEST).exists():
        print(decision_table(load_decision(folder / LATEST)))
    return 0


def run_promote(args: argparse.Namespace) -> int:
    from harness.gate.promote import promote

    entry = promote(args.candidate, args.root, force=args.force)
    assert entry.current is not None
    print(f"current: {entry.current.id}{' (forced)' if entry.current.forced else ''} "
          f"(history: {', '.join(d.id for d in entry.history) or 'none'})")
    return 0


def run_rollback(args: argparse.Namespace) -> int:
    from harness.gate.promote import rollback

    entry = rollback(args.task, args.root)
    assert entry.current is not None
    print(f"current: {entry.current.id}")
    return 0
