"""Level, power and generations saved of the sequential gate (``gate.sequential``) against the fixed-n gate.

Simulated gates on paired pass/fail outcomes (:mod:`harness.gate.sequential_sim`): the sequential gate
looks after ``min_cases`` (50) and after every ``--chunk`` (16) further cases, stops once the betting
confidence sequence of its check is settled, and falls back to today's fixed-n verdict when the cases
run out. Each row gives the share of gates whose check passed (accept) and failed (reject), fixed-n
and sequential, the mean cases the sequential gate used, and the share of generations it saved. The
null rows are the level (accept at most alpha = 0.05, Monte Carlo margin +-3 se printed); the others are
effects like the demo's (triage fine-tune +0.24 on 3-field means; general capability -0.26 against the
0.05 tolerance; house style +0.29 on pass/fail with margin 0).

    python bench/sequential.py [--gates 2000] [--chunk 16] [--seed 0]
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from harness.gate.sequential_corpus import macro_f1_bounds  # noqa: E402
from harness.gate.sequential_sim import Scenario, Statistic, simulate  # noqa: E402

ROWS: list[tuple[str, Scenario, Statistic, float, int]] = [
    ("null: field_mean tie (3 fields)", Scenario(0.2, 0.2, 3), "mean", 0.0, 155),
    ("null: pass/fail tie (discordant)", Scenario(0.2, 0.2), "discordant", 0.0, 155),
    ("null: general change = -tolerance", Scenario(0.15, 0.20), "mean", -0.05, 162),
    ("triage-like win +0.24 (3 fields)", Scenario(0.33, 0.09, 3), "mean", 0.0, 155),
    ("house-style-like win +0.29 (n 77)", Scenario(0.37, 0.08), "discordant", 0.0, 77),
    ("general loss -0.26 (tolerance 0.05)", Scenario(0.05, 0.31), "mean", -0.05, 162),
    ("close call +0.05 (3 fields)", Scenario(0.23, 0.18, 3), "mean", 0.0, 155),
]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gates", type=int, default=2000)
    parser.add_argument("--chunk", type=int, default=16)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    margin = 3 * math.sqrt(0.05 * 0.95 / args.gates)
    print(f"{args.gates} simulated gates per row, alpha 0.05 (Monte Carlo margin of a 0.05 rate: +-{margin:.3f}), "
          f"first look at 50 cases, then every {args.chunk}")
    header = ("scenario", "true delta", "n", "accept fixed", "accept seq", "reject fixed", "reject seq", "cases used",
              "saved")
    print(" | ".join(header))
    started = time.perf_counter()
    for index, (label, scenario, statistic, threshold, n) in enumerate(ROWS):
        r = simulate(scenario, threshold=threshold, statistic=statistic, n_cases=n, chunk=args.chunk,
                     gates=args.gates, seed=args.seed + index)
        print(f"{label} | {scenario.delta:+.2f} | {n} | {r.accept_fixed:.3f} | {r.accept_sequential:.3f} | "
              f"{r.reject_fixed:.3f} | {r.reject_sequential:.3f} | {r.mean_cases:.1f} | {r.saved:.1%}")
    print(f"({time.perf_counter() - started:.1f} s)")
    corpus_widths(args.seed)
    print("floor: n/a (no model stage)")  # bench/floor.py: a simulation, no model work
    return 0


def corpus_widths(seed: int, repeats: int = 3) -> None:
    """Why ``field_macro_f1`` stays fixed-n: the width of the valid union-bound sequence on triage-like data."""
    rng = np.random.default_rng(seed)
    classes = {"category": 7, "priority": 3, "needs_human": 2}  # triage's fields
    print("field_macro_f1 union-bound sequence (harness.gate.sequential_corpus), triage-like fields of 7/3/2 classes, "
          "candidate 85% right per field, baseline 55%, alpha 0.05:")
    print("cases | mean bounds of the difference | mean width | settled above 0")
    for n in (155, 600):
        lows, highs = [], []
        for _ in range(repeats):
            ref = {f: rng.integers(0, k, n).astype(str) for f, k in classes.items()}

            def predict(accuracy: float, ref: dict[str, np.ndarray] = ref, n: int = n) -> dict[str, list[list[str]]]:
                return {f: [[str(p)] for p in np.where(rng.random(n) < accuracy, ref[f],
                                                       rng.integers(0, k, n).astype(str))]
                        for f, k in classes.items()}

            bounds = macro_f1_bounds({f: r.tolist() for f, r in ref.items()}, predict(0.85), predict(0.55),
                                     {f: [str(c) for c in range(k)] for f, k in classes.items()}, 0.05, grid_size=201)
            lows.append(bounds.mean[0])
            highs.append(bounds.mean[1])
        settled = sum(low > 0 for low in lows)
        print(f"{n} | [{np.mean(lows):+.2f}, {np.mean(highs):+.2f}] | {np.mean(highs) - np.mean(lows):.2f} | "
              f"{settled}/{repeats}")


if __name__ == "__main__":
    raise SystemExit(main())
