"""``harness split DATA.jsonl --eval-split 0.1 --out DIR``: stable train/held-out split."""

from __future__ import annotations

import argparse

from harness.cli.options import add_format_option, print_json, wants_json
from harness.data.split import write_split


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("split", help="split a dataset into train and held-out files", description=__doc__)
    parser.add_argument("data", help="chat JSONL file to split")
    parser.add_argument("--eval-split", type=float, required=True, help="share held out, e.g. 0.1")
    parser.add_argument("--seed", type=int, default=0, help="split seed (default 0)")
    parser.add_argument("--out", required=True, help="folder for train.jsonl, heldout.jsonl and split.json")
    parser.add_argument("--force", action="store_true", help="overwrite existing outputs")
    add_format_option(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    manifest = write_split(args.data, args.out, args.eval_split, args.seed, force=args.force)
    counts = manifest["counts"]
    if wants_json(args):
        print_json({"train": f"{args.out}/train.jsonl", "heldout": f"{args.out}/heldout.jsonl",
                    "manifest": f"{args.out}/split.json", "split": manifest})
        return 0
    print(f"{args.out}/train.jsonl: {counts['train']} examples")
    print(f"{args.out}/heldout.jsonl: {counts['heldout']} examples ({manifest['heldout_share']:.1%} held out, seed {args.seed})")
    print(f"{args.out}/split.json: manifest (input sha256 {manifest['input_sha256'][:12]}…)")
    return 0
