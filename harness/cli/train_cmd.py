"""``harness train CONFIG``: train a LoRA candidate from a lora.yaml and print its path."""

from __future__ import annotations

import argparse
import contextlib
import sys

from harness.cli.options import add_format_option, print_json, wants_json


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("train", help="train a candidate LoRA adapter from a lora.yaml", description=__doc__)
    parser.add_argument("config", help="lora.yaml: base_model, dataset, lora {r, alpha, dropout, target_modules} and "
                        "training {epochs, learning_rate, batch_size, eval_split}; every other key is optional "
                        "(see harness.training.config)")
    parser.add_argument("--heldout", help="the gate's held-out file: training refuses to run if any of it leaks in")
    parser.add_argument("--output-dir", help="folder for candidates/<id>/ (default: the config's output_dir)")
    parser.add_argument("--gate", action="store_true", help="run `harness gate` on the candidate right after training")
    parser.add_argument("--gate-config", help="eval config with the gate rules (default: harness.yaml beside CONFIG)")
    add_format_option(parser)
    parser.set_defaults(handler=run)


def check_paths(args: argparse.Namespace) -> None:
    """Refuse path arguments of the wrong kind before a minute of training is spent.

    Raises:
        InputError: ``--output-dir`` is a file, or the gate config (with ``--gate``/``--gate-config``) is no file.
    """
    from pathlib import Path

    from harness.errors import InputError
    from harness.fileio import check_regular_file

    if args.output_dir and Path(args.output_dir).exists() and not Path(args.output_dir).is_dir():
        raise InputError("--output-dir must be a folder, and this is a file", path=args.output_dir, code="not-a-folder")
    if args.gate or args.gate_config:
        check_regular_file(args.gate_config or Path(args.config).parent / "harness.yaml", "gate config (harness.yaml)")


def run(args: argparse.Namespace) -> int:
    from harness.training import load_config, train_candidate
    from harness.training.data import DatasetRejected

    check_paths(args)
    overrides = {k: v for k, v in {"heldout": args.heldout, "output_dir": args.output_dir}.items() if v}
    config = load_config(args.config, overrides=overrides)
    try:
        # The Trainer prints its logs; keep stdout for the one line scripts capture: the path.
        with contextlib.redirect_stdout(sys.stderr):
            path = train_candidate(config)
    except DatasetRejected as exc:
        for finding in exc.findings:
            print(finding, file=sys.stderr)
        print(f"harness train: {exc}", file=sys.stderr)
        if wants_json(args):
            print_json({"candidate": None, "rejected": str(exc), "findings": [str(f) for f in exc.findings],
                        "decision": None})
        return 1
    from harness.training.distributed import world

    if not world().is_main:  # torchrun/accelerate: the main process prints the path and runs the gate
        return 0
    if not wants_json(args):
        print(path)
    if not args.gate:
        if wants_json(args):
            print_json({"candidate": path, "rejected": None, "findings": [], "decision": None})
        return 0
    from pathlib import Path

    from harness.cli.gate_cmd import decision_table
    from harness.gate.run import run_gate

    decision = run_gate(path, args.gate_config or Path(args.config).parent / "harness.yaml")
    print(decision_table(decision), file=sys.stderr)
    if wants_json(args):
        print_json({"candidate": path, "rejected": None, "findings": [], "decision": decision})
    return 0 if decision.verdict == "accepted" else 1
