"""Run every benchmark in ``bench/`` and print one table: figure, reference, target, pass/fail.

Each benchmark also runs alone (``python bench/NAME.py``) and prints its ratio as its last
line, ``ratio <what> = <value>``; this script runs each one in its own process (so one
benchmark's threads, caches and imports do not colour the next), reads that last line and
compares it with the target declared below. Each also prints its stage's ratio to this machine's
floor (``bench/floor.py``) as ``floor: <stage>: <measured> s, floor <floor> s: <ratio>x (<work>)``, or
``floor: n/a (...)``; the table's last column is the last such line's ratio and stage.

    python bench/run_all.py                 # all of them
    python bench/run_all.py lint report     # a subset, by name
"""

from __future__ import annotations

import argparse
import dataclasses
import re
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
RATIO_LINE = re.compile(r"^ratio (?P<what>.+?) = (?P<value>[-+0-9.eE]+)\s*$")
SKIP_LINE = re.compile(r"^skip: (?P<why>.+?)\s*$")
"""A benchmark that cannot run here (no vLLM virtualenv, say) prints ``skip: <why>`` as its last line and exits 0."""
FLOOR_LINE = re.compile(r"^floor: (?:n/a|(?P<stage>.+?): [0-9.]+ s, floor [-+0-9.eE]+ s: (?P<ratio>[0-9.]+|inf)x)")


@dataclasses.dataclass(frozen=True)
class Benchmark:
    """One benchmark script and the target its ratio is held to."""

    name: str
    """Script name in ``bench/`` without ``.py``."""
    figure: str
    """What the ratio measures, for the table."""
    reference: str
    """What the ratio is measured against."""
    target: float
    """The ratio must be at most this (``at_most``) or at least this."""
    at_most: bool = True
    args: tuple[str, ...] = ()
    """The script's command-line arguments."""


BENCHMARKS = (
    Benchmark("lint", "lint 100,000 lines + 1,000 held out", "15 s budget", 1.0),
    Benchmark("training", "harness Trainer tokens/s", "plain peft + torch loop", 0.95, at_most=False),
    Benchmark("generation", "LocalBackend wall time", "bare model.generate loop", 1.10),
    Benchmark("generation_levers", "triage eval wall, length batching + JSON stop", "before the levers", 1.0),
    Benchmark("shared_prefix", "judge + triage + general prompts, shared prefix once", "prefix off (batch 8)", 1.0),
    Benchmark("replay_batch", "replay replies (128 new tokens) at batch 64", "batch 16", 1.0),
    Benchmark("openai", "200 requests at concurrency 16", "ideal wall time", 1.3),
    Benchmark("monitor", "monitor 100,000 log lines", "30 s budget", 1.0),
    Benchmark("report", "report over 1,000 runs", "10 s budget", 1.0),
    Benchmark("distributed", "tiny training wall, 2 processes (torchrun)", "1 process", 1.0),
    Benchmark("tone", "tone scoring of the replies (embedding, classifier, fluency)", "generating them", 0.1),
    Benchmark("floor", "the stage furthest from its floor (decode today)", "matmul rate and memory bandwidth", 2.0),
    Benchmark("engine", "vLLM CPU outputs identical to local peft's, adapter, 16 triage cases", "local backend", 0.95,
              at_most=False, args=("--limit", "16")),
)


@dataclasses.dataclass(frozen=True)
class Outcome:
    """What one benchmark run gave."""

    bench: Benchmark
    ratio: float | None
    seconds: float
    error: str = ""
    floor: str = "-"
    """The last floor line's ratio and stage (``2.41x generation, LocalBackend``), ``n/a``, or ``-`` without one."""
    skipped: str = ""
    """Why the benchmark could not run here (its ``skip:`` line); a skip is not a failure."""

    @property
    def passed(self) -> bool:
        if self.ratio is None:
            return False
        return self.ratio <= self.bench.target if self.bench.at_most else self.ratio >= self.bench.target


def run(bench: Benchmark) -> Outcome:
    """Run one benchmark script and parse its last line."""
    script = HERE / f"{bench.name}.py"
    if not script.exists():
        return Outcome(bench, None, 0.0, f"{script} is missing")
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, str(script), *bench.args], capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    lines = [line for line in proc.stdout.splitlines() if line.strip()]
    skip = SKIP_LINE.match(lines[-1]) if lines and proc.returncode == 0 else None
    if skip:
        return Outcome(bench, None, seconds, skipped=skip["why"])
    match = RATIO_LINE.match(lines[-1]) if lines else None
    if proc.returncode != 0 or not match:
        tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        return Outcome(bench, None, seconds, f"exit {proc.returncode}: {tail}")
    return Outcome(bench, float(match["value"]), seconds, floor=floor_cell(lines))


def floor_cell(lines: list[str]) -> str:
    """The table's floor column from a benchmark's output: its last ``floor:`` line."""
    floors = [m for m in map(FLOOR_LINE.match, lines) if m]
    if not floors:
        return "-"
    last = floors[-1]
    return "n/a" if last["stage"] is None else f"{float(last['ratio']):.2f}x {last['stage']}"


def table(outcomes: list[Outcome]) -> str:
    """The outcomes as a Markdown table."""
    rows = ["| benchmark | figure | reference | ratio | target | result | wall | floor ratio |",
            "|---|---|---|---|---|---|---|---|"]
    for o in outcomes:
        target = f"{'<=' if o.bench.at_most else '>='} {o.bench.target:g}"
        ratio = f"{o.ratio:.2f}" if o.ratio is not None else "-"
        result = f"skipped: {o.skipped}" if o.skipped else "pass" if o.passed else f"FAIL {o.error}".strip()
        cells = [o.bench.name, o.bench.figure, o.bench.reference, ratio, target, result, f"{o.seconds:.0f} s", o.floor]
        rows.append("| " + " | ".join(cells) + " |")
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="benchmarks to run (default: all)")
    args = parser.parse_args(argv)
    known = {b.name: b for b in BENCHMARKS}
    unknown = [n for n in args.names if n not in known]
    if unknown:
        print(f"unknown benchmark(s) {', '.join(unknown)}; known: {', '.join(known)}", file=sys.stderr)
        return 2
    chosen = [known[n] for n in args.names] if args.names else list(BENCHMARKS)
    outcomes = []
    for bench in chosen:
        print(f"running bench/{bench.name}.py ...", file=sys.stderr, flush=True)
        outcomes.append(run(bench))
    print(table(outcomes))
    return 0 if all(o.passed or o.skipped for o in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
