"""``harness models list|prepare``: show the known models and convert one for fast loading."""

from __future__ import annotations

import argparse
import time

from harness.cli.options import add_format_option, print_json, wants_json
from harness.errors import ModelNotAvailableError
from harness.models import EMBEDDED, cache_dir, embedded_gguf, is_converted, resolve_model


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("models", help="list and prepare models", description=__doc__)
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    listing = actions.add_parser("list", help="show model aliases and whether they are ready")
    add_format_option(listing)
    listing.set_defaults(handler=run_list)
    prepare = actions.add_parser("prepare", help="resolve a model and convert it once for fast loading")
    prepare.add_argument("name", help="alias, .gguf file, checkpoint folder or hub id")
    prepare.set_defaults(handler=run_prepare)


def run_list(args: argparse.Namespace) -> int:
    models = []
    for alias, entry in EMBEDDED.items():
        try:
            ready = is_converted(embedded_gguf(entry))
            state, status = ("ready", "ready") if ready else (
                "installed", "installed; run `harness models prepare " + alias + "`")
        except ModelNotAvailableError:
            state, status = "not installed", f"not installed; {entry.install}"
        models.append({"alias": alias, "state": state, "status": status, "description": entry.description})
    if wants_json(args):
        print_json({"cache": cache_dir(), "models": models})
        return 0
    print(f"cache: {cache_dir()}")
    for model in models:
        print(f"{model['alias']:24} {model['status']}\n{'':24} {model['description']}")
    return 0


def run_prepare(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    ref = resolve_model(args.name)
    print(f"{args.name}: {ref.kind} model at {ref.location} ({time.perf_counter() - started:.1f} s)")
    return 0
