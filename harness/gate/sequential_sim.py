"""Operating characteristics of the sequential gate by simulation (numpy, seeded).

Simulates many gates on paired pass/fail outcomes with a chosen share of cases the candidate alone
passes (``wins``) and the baseline alone passes (``losses``), and runs each gate twice: fixed-n (every
case, today's paired bootstrap / McNemar) and sequential (a look after ``min_cases`` and after every
further ``chunk``, stopping once the betting confidence sequence settles; the fixed-n verdict when the
cases run out). ``tests/test_sequential.py`` asserts the level; ``bench/sequential.py`` prints the figures.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import NDArray
from scipy import stats as sps

from harness.gate.sequential import look_sizes
from harness.stats_sequential import betting_bounds, mean_grid, paired_to_unit, settled_side

Statistic = Literal["mean", "discordant"]


@dataclass(frozen=True)
class Scenario:
    """Paired outcomes per case: each of ``fields`` pass/fail fields is won or lost independently."""

    wins: float
    """Share of (case, field) pairs only the candidate passes."""
    losses: float
    """Share only the baseline passes."""
    fields: int = 1
    """Fields per case; a case's score is the share of its fields passed (triage's ``field_mean``: 3)."""

    @property
    def delta(self) -> float:
        """The true paired mean difference."""
        return self.wins - self.losses


@dataclass(frozen=True)
class Operating:
    """What the simulated gates did."""

    accept_fixed: float
    """Share of fixed-n gates whose check passed."""
    accept_sequential: float
    reject_fixed: float
    """Share whose check failed."""
    reject_sequential: float
    mean_cases: float
    """Mean held-out cases the sequential gate used."""
    saved: float
    """Share of generations the sequential gate saved against fixed-n."""
    gates: int


def simulate(scenario: Scenario, *, threshold: float = 0.0, n_cases: int = 155, min_cases: int = 50, chunk: int = 16,
             alpha: float = 0.05, statistic: Statistic = "mean", gates: int = 2000, seed: int = 0,
             n_resamples: int = 1000, grid_size: int = 101) -> Operating:
    """Simulate ``gates`` gates of one check (candidate − baseline against ``threshold``) under ``scenario``."""
    rng = np.random.default_rng(seed)
    draws = rng.choice(3, p=[scenario.wins, scenario.losses, 1 - scenario.wins - scenario.losses],
                       size=(gates, n_cases, scenario.fields))
    diffs = ((draws == 0).astype(float) - (draws == 1)).mean(axis=2)
    fixed = _fixed_verdicts(diffs, threshold, alpha, statistic, n_resamples, rng)
    looks = look_sizes(n_cases, min_cases, chunk)
    if statistic == "discordant":
        x, observed, tau = (diffs > 0).astype(float), diffs != 0, 0.5
    else:
        x, observed, tau = paired_to_unit(diffs), None, (threshold + 1) / 2
    bounds = betting_bounds(x, alpha, looks, observed=observed, grid=mean_grid(grid_size, [tau]))
    sides = settled_side(bounds.low, bounds.high, tau)
    first = np.where((sides != 0).any(axis=1), np.argmax(sides != 0, axis=1), -1)
    side = np.where(first >= 0, sides[np.arange(gates), np.maximum(first, 0)], 0)
    sequential = np.where(first >= 0, side, fixed)
    used = np.where(first >= 0, np.asarray(looks)[np.maximum(first, 0)], n_cases)
    return Operating(float((fixed == 1).mean()), float((sequential == 1).mean()), float((fixed == -1).mean()),
                     float((sequential == -1).mean()), float(used.mean()), float(1 - used.mean() / n_cases), gates)


def _fixed_verdicts(diffs: NDArray[np.float64], threshold: float, alpha: float, statistic: Statistic,
                    n_resamples: int, rng: np.random.Generator) -> NDArray[np.int64]:
    """Today's fixed-n verdicts: +1 pass (bootstrap lower bound > threshold, or McNemar), -1 fail, 0 inconclusive."""
    gates, n = diffs.shape
    counts = rng.multinomial(n, np.full(n, 1 / n), size=n_resamples).astype(float)  # shared resamples
    means = diffs @ counts.T / n
    low, high = np.quantile(means, [alpha / 2, 1 - alpha / 2], axis=1)
    passed = low > threshold
    if statistic == "discordant":
        wins, losses = (diffs > 0).sum(axis=1), (diffs < 0).sum(axis=1)
        discordant = wins + losses
        p_value = np.minimum(1.0, 2 * np.minimum(sps.binom.cdf(wins, discordant, 0.5),
                                                 sps.binom.sf(wins - 1, discordant, 0.5)))
        passed |= (discordant > 0) & (p_value < alpha) & (diffs.mean(axis=1) > threshold) & (threshold == 0)
    return np.where(passed, 1, np.where(high <= threshold, -1, 0)).astype(np.int64)
