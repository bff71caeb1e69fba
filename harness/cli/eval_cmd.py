"""``harness eval``: run the variants of a harness.yaml over its held-out cases and write the run.

An adapter variant whose registry reference names no adapter yet (``current:<task>`` before the
first deployment) is skipped with one line saying why, unless asked for with ``--variant``: the
baselines run before any fine-tune exists, as the seed orders.

Exit 0 when the run is written and usable, 1 when every generation of some variant failed (the
run is still written, but unusable for that variant; stderr names it and its first error),
2 usage or input error.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from harness.cli.options import add_cache_options, add_config_option, add_format_option, print_json, wants_json

if TYPE_CHECKING:
    from harness.config.eval_config import EvalConfig


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("eval", help="generate outputs for every variant on the held-out cases",
                                   description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_config_option(parser)
    parser.add_argument("--variant", action="append", dest="variants", metavar="NAME", help="run only this variant (repeatable)")
    parser.add_argument("--limit", type=int, help="only the first N cases")
    parser.add_argument("--repeats", type=int, default=1, help="outputs per case (default 1)")
    add_cache_options(parser)
    parser.add_argument("--adapter", action="append", default=[], metavar="VARIANT=PATH",
                        help="use this adapter folder for an adapter variant (repeatable)")
    parser.add_argument("--runs-dir", default="runs", help="where runs/<run_id>/ goes (default: runs)")
    add_format_option(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from harness.config.eval_config import load_eval_config
    from harness.errors import InputError
    from harness.eval.runner import EvalOptions, run_eval
    from harness.scorers.summary import variant_summary

    if args.limit is not None and args.limit < 1 or args.repeats < 1:
        raise InputError("--limit and --repeats must be positive integers", code="bad-option")
    config = with_adapters(load_eval_config(args.config), args.adapter)
    options = EvalOptions(variants=args.variants, limit=args.limit, repeats=args.repeats, cache_mode=args.cache_mode,
                          runs_dir=Path(args.runs_dir))
    result = run_eval(config, options)
    summary = variant_summary(result.results)
    for name, why in result.skipped.items():  # e.g. the fine-tuned rung before the first deployment
        print(f"harness eval: skipped variant {name!r}: {why}", file=sys.stderr)
    if not wants_json(args):
        print(summary.to_string())
        print(result.path)
    failed = []
    for variant in dict.fromkeys(r.generation.variant for r in result.results):
        errors = [r.generation.error for r in result.results if r.generation.variant == variant]
        if all(errors):
            failed.append(variant)
            print(f"harness eval: every generation of variant {variant!r} failed; the run is unusable for it; "
                  f"first error: {errors[0]}", file=sys.stderr)
    if wants_json(args):
        skipped = {"skipped_variants": result.skipped} if result.skipped else {}  # present when a variant was skipped
        print_json({"run": result.path, "run_id": result.manifest.run_id, "summary": summary,
                    "failed_variants": failed, **skipped})
    return 1 if failed else 0


def with_adapters(config: EvalConfig, overrides: list[str]) -> EvalConfig:
    """The config with ``--adapter VARIANT=PATH`` overrides applied.

    Raises:
        InputError: a malformed option or a name that is not an adapter variant.
    """
    from harness.config.eval_config import with_adapters as point_adapters
    from harness.errors import InputError

    folders: dict[str, str | Path] = {}
    for item in overrides:
        name, _, path = item.partition("=")
        if not path:
            raise InputError(f"--adapter {item!r}: expected VARIANT=PATH", code="bad-option")
        folders[name] = path
    try:
        return point_adapters(config, folders)
    except InputError as exc:
        raise InputError(f"--adapter: {exc.message}", code="bad-option") from None
