"""The sequential gate against the fixed-n gate on a real task: the same verdicts? how many generations saved?

Runs ``harness gate`` twice for one trained candidate on one loaded model: first fixed-n (``gate.sequential``
off: every held-out case and every general item generated, all of it cached), then sequential (on: cases drawn
in the seeded order, chunk by chunk, until every check that can settle has settled). The second gate reads the
first one's cached generations, so it costs no generation time; what it *would* have generated is counted from
its records: the held-out cases it drew times the variants it compares, and the general items it drew times two
(base and candidate). Prints, per check, both verdicts, whether they agree, the cases the sequential check used
and why it stopped, then the generations of each gate and the share saved.

    python bench/sequential_demo.py --config suites/triage/harness.yaml --candidate candidates/<id> \\
        [--runs-dir /tmp/runs] [--cache-path /tmp/generations.sqlite]
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from harness.config.eval_config import EvalConfig  # noqa: E402
from harness.errors import HarnessError  # noqa: E402
from harness.eval.backends import make_backend  # noqa: E402
from harness.eval.runner import EvalOptions  # noqa: E402
from harness.gate.decision import Decision, GateCheck  # noqa: E402
from harness.gate.run import gate_decision, load_gate  # noqa: E402
from harness.gate.sequential_general import GENERAL  # noqa: E402


def generations(decision: Decision, variants: int, sequential: bool) -> tuple[int, int]:
    """(held-out generations, general-item generations) the gate needed, from its checks."""
    held = [c for c in decision.checks if c.sequential is not None and c.name != GENERAL and
            not c.sequential.stopped.startswith("fixed-n: token-loss")]
    data = decision.check("data")
    n_cases = data.n if data is not None and data.n is not None else 0
    if sequential and held:
        n_cases = max(c.sequential.cases_used for c in held if c.sequential is not None)
    general = decision.check(GENERAL)
    items = 0
    if general is not None:
        items = general.sequential.cases_used if sequential and general.sequential else (general.n or 0)
    return n_cases * variants, items * 2


def row(fixed: GateCheck | None, seq: GateCheck | None) -> str:
    name = (fixed or seq).name if (fixed or seq) else "?"  # type: ignore[union-attr]
    a, b = fixed.verdict if fixed else "-", seq.verdict if seq else "-"
    record = seq.sequential if seq else None
    used = f"{record.cases_used}/{record.cases_available}" if record else "-"
    why = record.stopped if record else "no sequence (not a generated check)"
    return f"{name} | {a} | {b} | {'same' if a == b else 'DIFFERENT'} | {used} | {why}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", required=True)
    parser.add_argument("--candidate", required=True, type=Path)
    parser.add_argument("--runs-dir", type=Path, default=Path("runs"))
    parser.add_argument("--cache-path", type=Path, default=None)
    args = parser.parse_args()
    try:
        return compare(args)
    except HarnessError as exc:  # a bad config or candidate: one line, exit 2
        print(f"sequential_demo: {exc}", file=sys.stderr)
        return 2


def compare(args: argparse.Namespace) -> int:
    """Both gates on one candidate; 0 when every verdict agrees, 1 when one differs."""
    config, rules = load_gate(args.config)
    backend = make_backend(config)
    options = EvalOptions(runs_dir=args.runs_dir, cache_path=args.cache_path, progress=False)
    decisions: dict[bool, Decision] = {}
    seconds: dict[bool, float] = {}
    for sequential in (False, True):
        configured: EvalConfig = dataclasses.replace(config, rules=dataclasses.replace(rules, sequential=sequential))
        started = time.perf_counter()
        decisions[sequential] = gate_decision(args.candidate, configured, options, backend)
        seconds[sequential] = time.perf_counter() - started
    fixed, seq = decisions[False], decisions[True]
    print(f"task {config.task}, candidate {args.candidate.name}: fixed-n {fixed.verdict} ({seconds[False]:.0f} s), "
          f"sequential {seq.verdict} ({seconds[True]:.0f} s, from the cache)")
    print("check | fixed-n | sequential | verdict | cases used (seq) | why it stopped")
    names = [c.name for c in fixed.checks] + [c.name for c in seq.checks if fixed.check(c.name) is None]
    for name in names:
        print(row(fixed.check(name), seq.check(name)))
    variants = 1 + len(rules.baselines)
    f_held, f_general = generations(fixed, variants, sequential=False)
    s_held, s_general = generations(seq, variants, sequential=True)
    total_f, total_s = f_held + f_general, s_held + s_general
    print(f"generations: held-out {f_held} -> {s_held}, general items {f_general} -> {s_general}, "
          f"total {total_f} -> {total_s}: saved {total_f - total_s} ({(total_f - total_s) / max(total_f, 1):.0%})")
    same = fixed.verdict == seq.verdict and all(
        (fixed.check(n) is None) or (seq.check(n) is None) or fixed.check(n).verdict == seq.check(n).verdict  # type: ignore[union-attr]
        for n in names)
    print(f"verdicts {'unchanged' if same else 'CHANGED'}")
    return 0 if same else 1


if __name__ == "__main__":
    raise SystemExit(main())
