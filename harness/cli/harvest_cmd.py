"""``harness harvest LOGS --reference DATA --out QUEUE.jsonl``: a ranked review queue from production logs.

The queue is chat-format JSONL with personal data masked and provenance under ``harvest``
(source file and line, reason, rank). It never writes into training data: a person reviews the
queue, then the reviewed file goes through ``harness lint`` and ``harness split`` like any data.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from harness.cli.options import add_format_option, print_json, wants_json
from harness.errors import InputError, OutputExistsError
from harness.fileio import atomic_write_text


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("harvest", help="pick production examples worth reviewing", description=__doc__)
    parser.add_argument("logs", help="production log: chat JSONL, optional timestamp, variant, correction, judge_score")
    parser.add_argument("--reference", required=True, help="the training data (chat JSONL): candidates near it are dropped")
    parser.add_argument("--heldout", help="the held-out set: coverage is measured against it; candidates near it are dropped")
    parser.add_argument("--schema", help="JSON Schema of a healthy reply (default: inferred from the reference outputs)")
    parser.add_argument("--out", required=True, help="the review queue to write (JSONL)")
    parser.add_argument("--n", type=int, default=200, help="queue length (default 200)")
    parser.add_argument("--force", action="store_true", help="overwrite an existing queue")
    add_format_option(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    out = Path(args.out)
    _check_output(out, args)
    from harness.monitor.harvest import REASONS, build_queue, find_candidates  # scikit-learn: only for this verb
    from harness.monitor.logs import read_logs
    from harness.monitor.reference import load_reference

    reference = load_reference(args.reference, args.heldout, args.schema)
    logs = read_logs(args.logs)
    if not wants_json(args):
        for bad in logs.malformed[:20]:
            print(f"{args.logs}:{bad.line}: {bad.code}: {bad.message}")
    if not logs.records:  # nothing to harvest from (and nothing the models below could fit)
        raise InputError(f"no usable log line ({len(logs.malformed)} malformed); each line must be {{\"messages\": [...]}}",
                         path=str(args.logs), code="no-log-records")
    candidates = find_candidates(logs.records, reference)
    queue = build_queue(candidates, reference, str(args.logs), args.n)
    atomic_write_text(out, "".join(item.to_json_line() + "\n" for item in queue))
    counts = {reason: sum(item.reasons[0] == reason for item in queue) for reason in REASONS}
    if wants_json(args):
        print_json({"queue": out, "queued": len(queue), "by_reason": counts, "records": len(logs.records),
                    "malformed": [{"line": m.line, "code": m.code, "message": m.message} for m in logs.malformed]})
        return 0
    print(f"{out}: {len(queue)} examples to review ({', '.join(f'{r} {c}' for r, c in counts.items() if c)}) "
          f"from {len(logs.records)} records, {len(logs.malformed)} malformed lines")
    return 0


def _check_output(out: Path, args: argparse.Namespace) -> None:
    if args.n < 1:
        raise InputError(f"--n {args.n}: give a queue length of at least 1", code="bad-n")
    protected = [Path(p) for p in (args.reference, args.heldout, args.logs) if p]
    if any(out.resolve() == p.resolve() for p in protected):
        raise InputError("--out is an input file; harvest never writes into training data or logs: pick a new file",
                         path=str(out), code="bad-output")
    if out.exists() and not args.force:
        raise OutputExistsError("exists; pass --force to overwrite it", path=str(out))
