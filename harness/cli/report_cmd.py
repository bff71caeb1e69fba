"""``harness report [--task T] [--since DATE] [--last N] [--out DIR] [--fail-on-regression]``: the regression page.

Writes ``index.html`` (self-contained, opens from disk) and ``report.md`` from the history
store. Exit 0 written (regressions are on the page), 1 a regression was flagged and
``--fail-on-regression`` was given, 2 bad input (unknown task, no runs, unreadable store).
"""

from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path

from harness.cli.options import add_format_option, print_json, wants_json
from harness.errors import InputError
from harness.history import default_store_path


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("report", help="write the regression report (HTML + Markdown) from the run history",
                                   description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--task", help="only this task (default: every task in the store)")
    parser.add_argument("--since", help="only runs from this date on (YYYY-MM-DD or an ISO time)")
    parser.add_argument("--last", type=int, help="only the last N runs of each task")
    parser.add_argument("--out", default=".harness/report", help="output folder (default .harness/report)")
    parser.add_argument("--store", help="history store (default $HARNESS_HISTORY or .harness/history.sqlite)")
    parser.add_argument("--fail-on-regression", action="store_true", help="exit 1 when a regression is flagged")
    add_format_option(parser)
    parser.set_defaults(handler=run)


def since(text: str | None) -> str | None:
    """``--since`` normalised to an ISO string that compares with the store's times.

    Raises:
        InputError: not a date.
    """
    if text is None:
        return None
    try:
        return dt.datetime.fromisoformat(text).isoformat() if "T" in text else dt.date.fromisoformat(text).isoformat()
    except ValueError as exc:
        raise InputError(f"--since {text!r} is not a date; give YYYY-MM-DD or an ISO time", code="bad-date") from exc


def run(args: argparse.Namespace) -> int:
    from harness.reports import build_report, write_report

    if args.last is not None and args.last < 1:
        raise InputError(f"--last must be at least 1, got {args.last}", code="bad-argument")
    out = Path(args.out)
    report = build_report(Path(args.store) if args.store else default_store_path(), out, args.task, since(args.since), args.last)
    html, markdown = write_report(report, out)
    if wants_json(args):
        print_json({"html": html, "markdown": markdown, "store": report.store, "generated_at": report.generated_at,
                    "tasks": [{"task": t.task, "runs": len(t.runs), "latest": t.latest.run_id, "table": t.table,
                               "regressions": t.regressions} for t in report.tasks],
                    "regressions": [{"task": t.task, **vars(c)} for t in report.tasks for c in t.regressions]})
        return 1 if report.regressions and args.fail_on_regression else 0
    print(f"{html}: {html.stat().st_size / 1024:.0f} KiB, {len(report.tasks)} task(s)")
    print(f"{markdown}")
    for task in report.tasks:
        for c in task.regressions:
            print(f"regression: {task.task} {c.variant} {c.metric} {c.before:.3f} -> {c.after:.3f} ({c.test})")
    if not report.regressions:
        print("no regression beyond noise")
    return 1 if report.regressions and args.fail_on_regression else 0
