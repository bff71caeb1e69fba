"""``harness init --data DATA.jsonl --task NAME [--schema S] [--out DIR]``: a starter task from your data.

Splits the data (stable, by input hash) and writes ``harness.yaml``, ``lora.yaml`` and a gate
suite ``test_<task>_gate.py`` into DIR (default ``suites/<task>``). Existing files are kept
unless ``--force``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from harness.cli.options import add_format_option, print_json, wants_json
from harness.cli.starter import MIN_CASES, StarterRequest, init_task
from harness.models.catalogue import DEFAULT_MODEL


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("init", help="write a starter harness.yaml, lora.yaml and gate suite for a task",
                                   description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", required=True, help="chat JSONL file of the task's examples")
    parser.add_argument("--task", required=True, help="task name (registry, candidate ids, suite)")
    parser.add_argument("--schema", help="JSON Schema of the outputs: scoring and the gate use its fields")
    parser.add_argument("--out", help="folder for the configs, suite and split (default: suites/<task>)")
    parser.add_argument("--model", default=DEFAULT_MODEL,
                        help="base model: alias, local folder, .gguf file or Hugging Face id (default: the embedded model)")
    parser.add_argument("--eval-split", type=float, default=0.1, help="share held out for the gate (default 0.1)")
    parser.add_argument("--seed", type=int, default=0, help="split seed (default 0)")
    parser.add_argument("--force", action="store_true", help="overwrite existing files")
    add_format_option(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    out = Path(args.out or Path("suites") / args.task)
    result = init_task(StarterRequest(Path(args.data), args.task, out, Path(args.schema) if args.schema else None,
                                      args.model, args.eval_split, args.seed, args.force))
    steps = next_steps(out, args.schema)
    if wants_json(args):
        print_json({"folder": out, "files": result.files, "train": result.n_train, "heldout": result.n_heldout,
                    "fields": result.fields, "min_cases": MIN_CASES, "next_steps": steps,
                    "heldout_advice": result.advice.to_dict()})
        return 0
    for path in result.files:
        print(f"wrote {path}")
    print(f"split: {result.n_train} training, {result.n_heldout} held-out examples")
    if result.fields:
        print(f"gate primary: field_macro_f1 over {', '.join(result.fields)}")
    if result.n_heldout < MIN_CASES:
        print(f"note: the gate needs {MIN_CASES} held-out cases (min_cases) and will say inconclusive with "
              f"{result.n_heldout}; add data or raise --eval-split")
    for line in result.advice.lines(args.eval_split):
        print(line)
    print("next, in the seed's order (prompt first, then RAG, fine-tune last):")
    for number, (command, why) in enumerate(steps, 1):
        print(f"  {number}. {command}")
        print(f"     {why}")
    return 0


def next_steps(out: Path, schema: str | None) -> list[tuple[str, str]]:
    """The path after ``init``, each command with what it is for: lint, baselines, train, the ladder, CI, nightly."""
    config = out / "harness.yaml"
    return [
        (f"harness lint {out / 'data/train.jsonl'}{f' --schema {schema}' if schema else ''} "
         f"--heldout {out / 'data/heldout.jsonl'}",
         "every problem in the data at once, and no held-out example in training"),
        (f"harness eval --config {config}",
         "the baselines before any training: what prompt-only and RAG score (the table) and where the run is "
         "(runs/<id>); the fine-tuned variant is skipped until an adapter exists"),
        (f"harness train {out / 'lora.yaml'}",
         "a LoRA candidate in candidates/<id> (replay against forgetting is on: see lora.yaml)"),
        (f"harness decide --config {config} --promote",
         "the ladder: deploys the cheapest rung that no costlier one beats, the latest candidate included; "
         "a rejection names its remedy"),
        (f"pytest {out}", "in CI: the deploy gate of what is deployed (`pytest suites/` for every task)"),
        (f"harness eval --config {config} && harness report --out report --fail-on-regression",
         "nightly: a fresh run and the report of what moved (README, 'The nightly report')"),
    ]
