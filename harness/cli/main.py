"""``harness <verb>``: exit 0 ok, 1 findings/rejected, 2 usage or input error.

Every verb module exposes ``register(subparsers)``, which adds its parser and sets
``handler`` to a function ``(args) -> int``. A :class:`~harness.errors.HarnessError`
becomes one ``path:line: code: message`` line on stderr and exit 2, never a traceback.
An ``OSError`` about a path becomes the same kind of line. Anything else is a bug: a
last-resort guard still prints one line and exits 2, and ``-v`` shows the traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import logging
import os
import signal
import stat
import sys
import threading
from collections.abc import Iterator, Sequence

from harness.cli import (
    ask_cmd,
    calibrate_cmd,
    decide_cmd,
    eval_cmd,
    gate_cmd,
    harvest_cmd,
    history_cmd,
    init_cmd,
    judge_cmd,
    lint_cmd,
    models_cmd,
    monitor_cmd,
    registry_cmd,
    report_cmd,
    split_cmd,
    train_cmd,
)
from harness.errors import HarnessError, InputError

EXIT_OK, EXIT_FINDINGS, EXIT_USAGE = 0, 1, 2
VERBS = (
    lint_cmd,
    split_cmd,
    models_cmd,
    train_cmd,
    eval_cmd,
    gate_cmd,
    registry_cmd,
    ask_cmd,
    monitor_cmd,
    harvest_cmd,
    history_cmd,
    report_cmd,
    calibrate_cmd,
    judge_cmd,
    decide_cmd,
    init_cmd,
)
_OS_CODES = {errno.ENOENT: "file-not-found", errno.EISDIR: "not-a-file", errno.ENOTDIR: "not-a-folder",
             errno.EEXIST: "path-exists", errno.EACCES: "permission-denied", errno.ENOSPC: "disk-full"}
log = logging.getLogger(__name__)


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with one subparser per verb."""
    parser = argparse.ArgumentParser(prog="harness", description="Evaluation-centric regression harness for LLM fine-tunes.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress details to stderr")
    subparsers = parser.add_subparsers(dest="verb", metavar="VERB", required=True)
    for verb in VERBS:
        verb.register(subparsers)
    return parser


class Terminated(BaseException):
    """SIGTERM, raised like Ctrl-C so every ``finally`` (temporary folders) runs before the exit."""


def _terminate(signum: int, frame: object) -> None:
    raise Terminated()


@contextlib.contextmanager
def _sigterm_unwinds() -> Iterator[None]:
    """While the CLI runs, SIGTERM unwinds the stack (cleaning temporaries) instead of killing it at once."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI and return its exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)  # argparse itself exits 2 with a usage line on bad options
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        with _sigterm_unwinds():
            refuse_blocking_paths(args)
            return args.handler(args)
    except HarnessError as exc:
        print(f"harness {args.verb}: {exc}", file=sys.stderr)
    except KeyboardInterrupt:
        print(f"harness {args.verb}: interrupted", file=sys.stderr)
        return 130
    except Terminated:
        print(f"harness {args.verb}: terminated", file=sys.stderr)
        return 128 + signal.SIGTERM
    except OSError as exc:  # a path the user gave that cannot be read or written as asked
        log.info("traceback of the error below", exc_info=True)
        print(f"harness {args.verb}: {describe_os_error(exc)}", file=sys.stderr)
    except RecursionError:
        print(f"harness {args.verb}: too-deep: an input is nested too deeply to read; flatten it", file=sys.stderr)
    except Exception as exc:  # the last resort: a bug, but still one line and exit 2 (-v shows where)
        log.info("traceback of the error below", exc_info=True)  # shown with -v only
        hint = "" if args.verbose else "; rerun with -v for the traceback"
        print(f"harness {args.verb}: internal-error: {type(exc).__name__}: {exc}{hint} (please report it)", file=sys.stderr)
    return EXIT_USAGE


def describe_os_error(exc: OSError) -> str:
    """``path: code: reason`` for an ``OSError`` raised on a path."""
    where = f"{exc.filename}: " if exc.filename is not None else ""
    code = _OS_CODES.get(exc.errno or 0, "os-error")
    return f"{where}{code}: {exc.strerror or exc}; check the path"


def refuse_blocking_paths(args: argparse.Namespace) -> None:
    """Refuse any argument naming a FIFO, socket or device: reading one may block forever.

    Raises:
        InputError: the first such argument.
    """
    for value in _argument_strings(args):
        try:
            mode = os.stat(value).st_mode
        except (OSError, ValueError):
            continue  # not a path (or not there): the verb reports it
        if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
            raise InputError("not a regular file or folder (a pipe, socket or device could block forever)",
                             path=value, code="not-a-file")


def _argument_strings(args: argparse.Namespace) -> Iterator[str]:
    for name, value in vars(args).items():
        if name in ("handler", "verb"):
            continue
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, str):
                yield item.partition("=")[2] if name == "adapter" and "=" in item else item


def entry() -> None:
    """Console-script entry point."""
    sys.exit(main())
