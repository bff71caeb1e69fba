"""Anytime-valid confidence sequences for the mean of bounded observations (numpy).

The sequential gate looks at its paired differences after every chunk of held-out cases and stops
once a check's verdict is settled. A fixed-n interval looked at that often loses its coverage; a
*confidence sequence* keeps it at every look at once: P(the true mean ever leaves the sequence) <= alpha.

This module implements the betting confidence sequence of Waudby-Smith & Ramdas, "Estimating means
of bounded random variables by betting", JRSS-B 86(1), 2024 (arXiv:2010.09686): the *hedged capital*
process with *predictable plug-in* bets (their section 4, eqs. (26)-(27) and Theorem 3). For each
candidate mean m in [0, 1] two gamblers bet that the mean is above / below m:

    K+_t(m) = prod_i (1 + lambda+_i(m) (X_i - m)),   K-_t(m) = prod_i (1 - lambda-_i(m) (X_i - m)),
    lambda_t = sqrt(2 log(2/alpha) / (sigma2_{t-1} t log(1 + t))),
    lambda+_t(m) = min(lambda_t, c/m),  lambda-_t(m) = min(lambda_t, c/(1 - m)),  c = 1/2,
    mu_t = (1/2 + sum X_i) / (t + 1),  sigma2_t = (1/4 + sum (X_i - mu_i)^2) / (t + 1),

and m leaves the sequence once max(K+/2, K-/2) >= 1/alpha (Ville's inequality). The sequence here is
the running intersection over time, computed on a grid of m (plus the thresholds the gate asks about),
and reported conservatively: each bound is the last *excluded* grid point, so a threshold counts as
cleared only when it was itself excluded. One side's error is at most alpha/2.

Observations must lie in [0, 1]; a paired difference d in [-1, 1] maps to (d + 1) / 2.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray

BET_CAP = 0.5
"""``c``: the largest share of capital bet on one observation (the paper suggests 1/2 or 3/4)."""


class SequenceBounds(NamedTuple):
    """The confidence sequence after each look (arrays of shape ``(batch, looks)``)."""

    low: NDArray[np.float64]
    """Largest excluded grid mean below the sequence (0 when nothing below was excluded)."""
    high: NDArray[np.float64]
    """Smallest excluded grid mean above the sequence (1 when nothing above was excluded)."""
    n: NDArray[np.int64]
    """Observations counted by each look."""


def mean_grid(size: int = 1001, extra: Sequence[float] = ()) -> NDArray[np.float64]:
    """Candidate means: ``size`` evenly spaced points on [0, 1] plus ``extra`` (the thresholds), sorted."""
    return np.union1d(np.linspace(0.0, 1.0, size), np.clip(np.asarray(extra, dtype=float), 0.0, 1.0))


def betting_bounds(x: ArrayLike, alpha: float, looks: Sequence[int], *, observed: ArrayLike | None = None,
                   grid: NDArray[np.float64] | None = None) -> SequenceBounds:
    """The hedged-capital betting confidence sequence of the mean of ``x`` at each look.

    Args:
        x: observations in [0, 1], shape ``(n,)`` or ``(batch, n)`` (one row per independent sequence).
        alpha: error level of the whole sequence (both sides together).
        looks: after how many rows' worth of columns to report (e.g. ``[50, 66, 82]``), increasing.
        observed: boolean mask like ``x``; a False entry is skipped (e.g. a concordant pair when only the
            discordant pairs carry information): it neither bets nor advances time.
        grid: the candidate means (default :func:`mean_grid`).

    Raises:
        ValueError: observations outside [0, 1] or NaN, or looks past the data.
    """
    data = np.atleast_2d(np.asarray(x, dtype=float))
    mask = np.ones_like(data, dtype=bool) if observed is None else np.atleast_2d(np.asarray(observed, dtype=bool))
    if np.isnan(data).any() or data.min(initial=0.0) < 0 or data.max(initial=0.0) > 1:
        raise ValueError("betting confidence sequences need observations in [0, 1] without NaN")
    if list(looks) != sorted(looks) or (looks and looks[-1] > data.shape[1]):
        raise ValueError(f"looks must increase and stay within the {data.shape[1]} observations, got {list(looks)}")
    grid = mean_grid() if grid is None else grid
    scan = _Scan(data.shape[0], grid, alpha)
    lows, highs, counts, done = [], [], [], 0
    for look in looks:
        for column in range(done, look):
            scan.step(data[:, column], mask[:, column])
        done = look
        low, high = scan.bounds()
        lows.append(low)
        highs.append(high)
        counts.append(scan.t.copy())
    return SequenceBounds(_columns(lows, len(data)), _columns(highs, len(data)), _columns(counts, len(data)).astype(np.int64))


def _columns(parts: list[NDArray[np.float64]], rows: int) -> NDArray[np.float64]:
    return np.stack(parts, axis=1) if parts else np.zeros((rows, 0))


class _Scan:
    """The capital processes of a batch of sequences over the mean grid, one observation at a time."""

    def __init__(self, batch: int, grid: NDArray[np.float64], alpha: float) -> None:
        self.grid, self.alpha = grid, alpha
        self.log_up = np.zeros((batch, len(grid)))
        self.log_down = np.zeros((batch, len(grid)))
        self.excluded = np.zeros((batch, len(grid)), dtype=bool)
        self.t = np.zeros(batch)
        self.total = np.zeros(batch)
        self.squares = np.zeros(batch)
        with np.errstate(divide="ignore"):
            self.cap_up = np.where(grid > 0, BET_CAP / np.maximum(grid, 1e-300), np.inf)
            self.cap_down = np.where(grid < 1, BET_CAP / np.maximum(1 - grid, 1e-300), np.inf)

    def step(self, x: NDArray[np.float64], seen: NDArray[np.bool_]) -> None:
        variance = (0.25 + self.squares) / (self.t + 1)  # sigma2_{t-1}: predictable
        t = self.t + 1
        bet = np.sqrt(2 * np.log(2 / self.alpha) / (variance * t * np.log(1 + t)))[:, None]
        gain = x[:, None] - self.grid[None, :]
        if not seen.all():
            gain *= seen[:, None]
        wager = np.minimum(bet, self.cap_up[None, :])
        wager *= gain
        self.log_up += np.log1p(wager, out=wager)
        wager = np.minimum(bet, self.cap_down[None, :])
        wager *= gain
        np.negative(wager, out=wager)
        self.log_down += np.log1p(wager, out=wager)
        self.t = np.where(seen, t, self.t)
        self.total += np.where(seen, x, 0.0)
        mean = (0.5 + self.total) / (self.t + 1)
        self.squares += np.where(seen, (x - mean) ** 2, 0.0)
        self.excluded |= np.maximum(self.log_up, self.log_down) >= np.log(2 / self.alpha)  # max(K+, K-)/2 >= 1/alpha

    def bounds(self) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """Conservative bounds: the last excluded grid point below / first excluded above the kept means."""
        kept = ~self.excluded
        any_kept = kept.any(axis=1)
        first = np.argmax(kept, axis=1)
        last = len(self.grid) - 1 - np.argmax(kept[:, ::-1], axis=1)
        low = np.where(first > 0, self.grid[np.maximum(first - 1, 0)], 0.0)
        high = np.where(last < len(self.grid) - 1, self.grid[np.minimum(last + 1, len(self.grid) - 1)], 1.0)
        # An empty sequence (every mean excluded: data no bounded mean explains) settles nothing.
        return np.where(any_kept, low, 0.0), np.where(any_kept, high, 1.0)


def settled_side(low: ArrayLike, high: ArrayLike, threshold: float) -> NDArray[np.int64]:
    """+1 where the sequence lies wholly above ``threshold`` (the threshold itself excluded), -1 wholly below, else 0."""
    lo, hi = np.asarray(low, dtype=float), np.asarray(high, dtype=float)
    return np.where(lo >= threshold, 1, np.where(hi <= threshold, -1, 0)).astype(np.int64)


def paired_to_unit(differences: ArrayLike) -> NDArray[np.float64]:
    """Paired differences in [-1, 1] as observations in [0, 1]: ``(d + 1) / 2``."""
    return (np.asarray(differences, dtype=float) + 1.0) / 2.0
