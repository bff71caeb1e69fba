"""Lint speed: a 100,000-line chat file with a held-out file, a schema and the real tokenizer.

The file is synthesised from the vocabulary of the demo triage data (random word
sequences of realistic length, so near-duplicate search has real work to do), plus a
1,000-line held-out file with a few planted near-duplicate leaks.

    python bench/lint.py [--lines 100000]

Last line: ``ratio seconds/budget = X.XX`` against the 15 s budget (target <= 1.0).
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from pathlib import Path

from harness.cli.lint_cmd import token_counter
from harness.data import LintOptions, OutputSchema, lint
from harness.models import DEFAULT_MODEL

ROOT = Path(__file__).resolve().parents[1]
BUDGET_SECONDS = 15.0
SYSTEM = "You are a support triage bot. Reply only with JSON."
LABELS = [("bug", "high", True), ("how_to", "low", False), ("billing", "medium", True), ("account", "low", False)]


def vocabulary() -> list[str]:
    words: list[str] = []
    for line in (ROOT / "suites/triage/data/triage.jsonl").read_text().splitlines():
        words += json.loads(line)["messages"][1]["content"].split()
    return words


def line(rng: random.Random, words: list[str]) -> str:
    text = " ".join(rng.choice(words) for _ in range(rng.randint(6, 60)))
    category, priority, human = rng.choice(LABELS)
    output = json.dumps({"category": category, "priority": priority, "needs_human": human})
    return json.dumps({"messages": [{"role": "system", "content": SYSTEM}, {"role": "user", "content": text},
                                    {"role": "assistant", "content": output}]})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lines", type=int, default=100_000)
    args = parser.parse_args()
    rng, words = random.Random(0), vocabulary()
    with tempfile.TemporaryDirectory() as tmp:
        train_lines = [line(rng, words) for _ in range(args.lines)]
        heldout_lines = [line(rng, words) for _ in range(1000)]
        for i in range(5):  # planted leaks: a training input with a typo (two letters swapped)
            example = json.loads(train_lines[i * 997])
            text = example["messages"][1]["content"]
            middle = len(text) // 2
            example["messages"][1]["content"] = text[:middle] + text[middle + 1] + text[middle] + text[middle + 2 :]
            heldout_lines[i] = json.dumps(example)
        train, heldout = Path(tmp, "train.jsonl"), Path(tmp, "heldout.jsonl")
        train.write_text("\n".join(train_lines) + "\n")
        heldout.write_text("\n".join(heldout_lines) + "\n")
        started = time.perf_counter()
        options = LintOptions(heldout=str(heldout), schema=OutputSchema.from_file(ROOT / "suites/triage/schema.json"),
                              tokens=token_counter(DEFAULT_MODEL))
        report = lint(str(train), options)
        seconds = time.perf_counter() - started
    codes = report.summary["by_code"]
    print(f"{args.lines} lines + 1000 held out: {seconds:.1f} s; findings by code: {codes}")
    leaks = codes.get("heldout-near-leak", 0) + codes.get("heldout-leak", 0)
    print(f"planted near-duplicate leaks found: {leaks} of 5")
    print("floor: n/a (no model stage)")  # bench/floor.py: no model work is timed here
    print(f"ratio seconds/budget = {seconds / BUDGET_SECONDS:.2f}")


if __name__ == "__main__":
    main()
