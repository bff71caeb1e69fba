"""``harness history import PATH...``: index run folders and decisions into the history store.

Idempotent: a run already indexed with the same content is left alone. A corrupt or
half-written run folder is reported by path on stderr and skipped, never half-indexed and
never fatal (exit 0: a nightly job keeps going; the report shows what was indexed).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from harness.cli.options import add_format_option, print_json, wants_json
from harness.errors import InputError
from harness.history import default_store_path, import_paths


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("history", help="the run history store (index runs and decisions)", description=__doc__)
    verbs = parser.add_subparsers(dest="history_verb", metavar="SUBVERB", required=True)
    imp = verbs.add_parser("import", help="index runs/ and candidates/ folders (idempotent)")
    imp.add_argument("paths", nargs="+", help="folders holding run folders and/or candidate folders")
    imp.add_argument("--store", help="history store (default $HARNESS_HISTORY or .harness/history.sqlite)")
    add_format_option(imp)
    imp.set_defaults(handler=run_import)


def run_import(args: argparse.Namespace) -> int:
    missing = [p for p in args.paths if not Path(p).is_dir()]
    if missing:
        raise InputError("not a folder; give folders such as runs/ and candidates/", path=missing[0], code="not-a-folder")
    store = Path(args.store) if args.store else default_store_path()
    summary = import_paths(args.paths, store)
    for line in summary.skipped:
        print(f"harness history: skipped {line}", file=sys.stderr)
    if wants_json(args):
        print_json({"store": store, **vars(summary)})
        return 0
    print(f"{store}: {len(summary.indexed)} indexed, {len(summary.unchanged)} unchanged, {len(summary.skipped)} skipped")
    return 0
