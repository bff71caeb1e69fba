"""Coverage and width of the gate's prediction-powered judge delta against the uncorrected judge and people alone.

A synthetic paired comparison: per case a latent quality; people rate the baseline around it
and the candidate ``--true-delta`` higher (noise sd 0.5). A biased judge compresses the scale
(0.6 x + 1.2), adds noise (sd 0.4) and rates the candidate ``--judge-bias`` higher than people
do. People label a uniform random ``--labelled`` of ``--cases`` cases. For each setting the
table gives the share of ``--reps`` repetitions whose 95% interval covers the true difference
(with its Monte Carlo margin) and the mean interval width, for PPI
(:func:`harness.judge.ppi.ppi_mean_difference`), PPI++ (power-tuned, what the gate uses), the
judge alone, and the labelled cases alone.

    python bench/ppi_coverage.py [--reps 2000] [--cases 300] [--labelled 30,60,120] [--judge-bias 0,0.5]
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from harness.judge.ppi import ppi_mean_difference  # noqa: E402


def run(reps: int, cases: int, labelled: int, bias: float, true_delta: float, seed: int) -> dict[str, tuple[float, float]]:
    rng = np.random.default_rng(seed)
    hits = {"ppi": 0, "ppi++": 0, "judge only": 0, "people only": 0}
    widths: dict[str, list[float]] = {k: [] for k in hits}
    z = 1.959963984540054
    for _ in range(reps):
        quality = rng.normal(3.0, 1.0, cases)
        base_h, cand_h = quality + rng.normal(0, 0.5, cases), quality + true_delta + rng.normal(0, 0.5, cases)
        base_j = 0.6 * base_h + 1.2 + rng.normal(0, 0.4, cases)
        cand_j = 0.6 * cand_h + 1.2 + bias + rng.normal(0, 0.4, cases)
        y, f = cand_h - base_h, cand_j - base_j
        mask = np.zeros(cases, bool)
        mask[rng.choice(cases, labelled, replace=False)] = True
        r = ppi_mean_difference(f[~mask], f[mask], y[mask])
        tuned = ppi_mean_difference(f[~mask], f[mask], y[mask], weight=None)
        people = (y[mask].mean() - z * y[mask].std(ddof=1) / math.sqrt(labelled),
                  y[mask].mean() + z * y[mask].std(ddof=1) / math.sqrt(labelled))
        for name, (low, high) in (("ppi", (r.low, r.high)), ("ppi++", (tuned.low, tuned.high)),
                                  ("judge only", (r.naive_low, r.naive_high)),
                                  ("people only", people)):
            hits[name] += low <= true_delta <= high
            widths[name].append(high - low)
    return {name: (hits[name] / reps, float(np.mean(widths[name]))) for name in hits}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reps", type=int, default=2000)
    parser.add_argument("--cases", type=int, default=300)
    parser.add_argument("--labelled", default="30,60,120")
    parser.add_argument("--judge-bias", default="0,0.5")
    parser.add_argument("--true-delta", type=float, default=0.3)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    margin = 1.96 * math.sqrt(0.95 * 0.05 / args.reps)
    print(f"{args.reps} repetitions, {args.cases} cases, true delta {args.true_delta}; Monte Carlo margin of a 95% "
          f"coverage: +/-{margin:.3f}")
    print(f"{'bias':>5} {'labelled':>8}  {'method':<12} {'coverage':>8} {'width':>7}")
    for bias in map(float, args.judge_bias.split(",")):
        for labelled in map(int, args.labelled.split(",")):
            for name, (coverage, width) in run(args.reps, args.cases, labelled, bias, args.true_delta, args.seed).items():
                print(f"{bias:>5.2f} {labelled:>8}  {name:<12} {coverage:>8.3f} {width:>7.3f}")
    print("floor: n/a (no model stage)")  # bench/floor.py: a simulation, no model work


if __name__ == "__main__":
    main()
