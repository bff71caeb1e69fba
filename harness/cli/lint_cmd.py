"""``harness lint DATA.jsonl``: report every finding; exit 1 on errors (or warnings with --strict)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from harness.cli.options import add_format_option, wants_json
from harness.data.heldout_size import HeldoutAdvice, advise
from harness.data.lint import LintOptions, LintReport, lint, report_json
from harness.data.schema import OutputSchema
from harness.data.tokens import ChatTokenizer, TokenCounter
from harness.errors import InputError
from harness.models.catalogue import DEFAULT_MODEL

DEFAULT_SPLIT = 0.1
"""``harness init``'s default ``--eval-split``: the split lint's held-out advice assumes without ``--heldout``."""


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("lint", help="check a chat JSONL dataset", description=__doc__)
    parser.add_argument("data", help="training data, one {messages: [...]} object per line")
    parser.add_argument("--heldout", help="held-out file to check for leakage from DATA")
    parser.add_argument("--schema", help="JSON Schema every assistant output must satisfy")
    add_format_option(parser)
    parser.add_argument("--strict", action="store_true", help="warnings also fail (exit 1)")
    parser.add_argument("--model", default=DEFAULT_MODEL,
                        help="model whose tokenizer and chat template measure lengths; 'none' skips token checks")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    options = LintOptions(heldout=args.heldout)
    if args.schema:
        options.schema = OutputSchema.from_file(args.schema)
    if args.model != "none":
        options.tokens = token_counter(args.model)
    report = lint(args.data, options)
    advice = heldout_advice(args.data, args.heldout, options.schema) if not report.summary["errors"] else None
    if wants_json(args):
        document = json.loads(report_json(report))
        if advice is not None:
            document["heldout_advice"] = advice.to_dict()
        print(json.dumps(document, indent=2))
    else:
        print(report_text(report))
        for line in advice.lines() if advice is not None else []:
            print(line)
    return 1 if report.failed(strict=args.strict) else 0


def heldout_advice(data: str, heldout: str | None, schema: OutputSchema | None) -> HeldoutAdvice | None:
    """Held-out cases per class of the schema's scored fields: of ``--heldout``, else of the split ``harness init``
    makes by default (``--eval-split 0.1``, seed 0). None without a schema that names fields."""
    from harness.cli.starter import MIN_CASES, schema_fields
    from harness.data.load import load_examples
    from harness.data.split import assign

    fields = schema_fields(schema.validator.schema)[0] if schema is not None else ()
    if not fields:
        return None
    examples = load_examples(data)
    if heldout:
        held = load_examples(heldout)
        return advise(held, [*examples, *held], fields, MIN_CASES)
    return advise(assign(examples, DEFAULT_SPLIT, 0).heldout, examples, fields, MIN_CASES)


def token_counter(spec: str) -> TokenCounter:
    """A token counter for a model reference: its real tokenizer, chat template and context length."""
    from harness.errors import ModelNotAvailableError
    from harness.models import resolve_model

    try:
        ref = resolve_model(spec)
    except ModelNotAvailableError as exc:
        raise ModelNotAvailableError(f"{exc.message} (or pass --model none to skip token checks)") from exc
    if not ref.loadable or ref.kind == "hub":
        raise InputError(f"lint needs a local model to count tokens; {spec} is not one (pass --model none)", code="bad-model")
    chat = ChatTokenizer.from_checkpoint(ref.location)
    try:
        config = json.loads((Path(ref.location) / "config.json").read_text())
        return TokenCounter(chat, int(config.get("max_position_embeddings", 2048)))
    except (ValueError, TypeError, AttributeError) as exc:
        raise InputError(f"damaged model config ({exc}); if it is in the harness cache, delete its folder and rerun "
                         "(it is rebuilt), or pass --model none", path=str(Path(ref.location) / "config.json"),
                         code="damaged-model") from exc


def report_text(report: LintReport) -> str:
    lines = [str(f) for f in report.findings]
    s = report.summary
    head = f"{s['examples']} examples"
    if "heldout_examples" in s:
        head += f" (+{s['heldout_examples']} held out)"
    lines.append(f"{head}: {s['errors']} errors, {s['warnings']} warnings")
    if s["by_code"]:
        lines.append("by code: " + ", ".join(f"{code} {n}" for code, n in s["by_code"].items()))
    for kind, stats in s.get("tokens", {}).items():
        lines.append(f"tokens per {kind}: " + ", ".join(f"{k} {v}" for k, v in stats.items()))
    return "\n".join(lines)
