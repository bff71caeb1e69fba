"""``harness <verb>``: exit 0 ok, 1 findings/rejected, 2 usage or input error.

Every verb module exposes ``register(subparsers)``, which adds its parser and sets
``handler`` to a function ``(args) -> int``. A :class:`~harness.errors.HarnessError`
becomes one ``path:line: code: message`` line on stderr and exit 2, never a traceback.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from harness.cli import (
    ask_cmd,
    eval_cmd,
    gate_cmd,
    harvest_cmd,
    init_cmd,
    lint_cmd,
    models_cmd,
    monitor_cmd,
    registry_cmd,
    split_cmd,
    train_cmd,
)
from harness.errors import HarnessError

EXIT_OK, EXIT_FINDINGS, EXIT_USAGE = 0, 1, 2
VERBS = (init_cmd, lint_cmd, split_cmd, models_cmd, train_cmd, eval_cmd, gate_cmd, registry_cmd, ask_cmd, monitor_cmd,
         harvest_cmd)


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with one subparser per verb."""
    parser = argparse.ArgumentParser(prog="harness", description="Evaluation-centric regression harness for LLM fine-tunes.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress details to stderr")
    subparsers = parser.add_subparsers(dest="verb", metavar="VERB", required=True)
    for verb in VERBS:
        verb.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI and return its exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)  # argparse itself exits 2 with a usage line on bad options
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        return args.handler(args)
    except HarnessError as exc:
        print(f"harness {args.verb}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print(f"harness {args.verb}: interrupted", file=sys.stderr)
        return 130


def entry() -> None:
    """Console-script entry point."""
    sys.exit(main())
