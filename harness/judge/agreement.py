"""Judge-human agreement with bootstrap intervals.

Point estimates come straight from scikit-learn (``cohen_kappa_score``, plain and
quadratic-weighted; ``confusion_matrix``) and scipy (``spearmanr``). Intervals are scipy
``bootstrap`` percentile intervals over items (paired resampling); for speed the resampled
statistics are vectorised numpy versions of the same formulas, which the tests check
against scikit-learn and scipy.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats
from sklearn.metrics import cohen_kappa_score

logger = logging.getLogger(__name__)
Statistic = Callable[..., np.ndarray]


@dataclass(frozen=True)
class Estimate:
    """A statistic with its 95% bootstrap interval (None where undefined, e.g. a constant judge's Spearman)."""

    value: float | None
    """The point estimate."""
    low: float | None
    """Lower end of the 95% percentile interval."""
    high: float | None
    """Upper end."""


def _onehot(x: np.ndarray, labels: Sequence[int]) -> np.ndarray:
    return (x[..., None] == np.asarray(labels)).astype(float)


def kappa_vectorised(human: np.ndarray, judge: np.ndarray, labels: Sequence[int], weights: str | None = None) -> np.ndarray:
    """Cohen's kappa along the last axis (the formula of ``sklearn.metrics.cohen_kappa_score``)."""
    confusion = np.einsum("...na,...nb->...ab", _onehot(human, labels), _onehot(judge, labels))
    n = confusion.sum(axis=(-2, -1), keepdims=True)
    expected = confusion.sum(axis=-1, keepdims=True) * confusion.sum(axis=-2, keepdims=True) / n
    grid = np.arange(len(labels))
    w = (grid[:, None] - grid[None, :]) ** 2 if weights == "quadratic" else (grid[:, None] != grid[None, :]).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        return 1 - (w * confusion).sum(axis=(-2, -1)) / (w * expected).sum(axis=(-2, -1))


def spearman_vectorised(human: np.ndarray, judge: np.ndarray) -> np.ndarray:
    """Spearman's rho along the last axis (Pearson on average ranks, as ``scipy.stats.spearmanr``)."""
    rh, rj = stats.rankdata(human, axis=-1), stats.rankdata(judge, axis=-1)
    rh, rj = rh - rh.mean(axis=-1, keepdims=True), rj - rj.mean(axis=-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (rh * rj).sum(axis=-1) / np.sqrt((rh**2).sum(axis=-1) * (rj**2).sum(axis=-1))


def _finite(value: float) -> float | None:
    return float(value) if np.isfinite(value) else None


def bootstrap_interval(statistic: Statistic, human: np.ndarray, judge: np.ndarray, *, n_resamples: int = 2000,
                       seed: int = 0) -> tuple[float | None, float | None]:
    """95% percentile interval of a vectorised paired statistic (scipy ``bootstrap``); None when undefined."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = stats.bootstrap((human, judge), statistic, paired=True, vectorized=True, n_resamples=n_resamples,
                                 method="percentile", random_state=np.random.default_rng(seed))
    return _finite(result.confidence_interval.low), _finite(result.confidence_interval.high)


def _spearman_point(human: np.ndarray, judge: np.ndarray) -> float:
    if len(set(judge.tolist())) < 2:
        return float("nan")  # undefined for a constant judge; scipy would warn and return nan
    return float(stats.spearmanr(human, judge).statistic)


def agreement(human: Sequence[int] | np.ndarray, judge: Sequence[int] | np.ndarray, labels: Sequence[int], *,
              n_resamples: int = 2000,
              seed: int = 0) -> dict[str, Estimate]:
    """Agreement statistics of paired ordinal ratings, each with a bootstrap interval.

    Returns:
        ``cohen_kappa``, ``quadratic_weighted_kappa``, ``spearman``, ``exact_agreement``,
        ``within_one_agreement`` and ``mean_bias`` (judge − human).
    """
    h, j = np.asarray(human), np.asarray(judge)
    table: dict[str, tuple[float, Statistic]] = {
        "cohen_kappa": (cohen_kappa_score(h, j, labels=list(labels)), lambda a, b, axis=-1: kappa_vectorised(a, b, labels)),
        "quadratic_weighted_kappa": (cohen_kappa_score(h, j, labels=list(labels), weights="quadratic"),
                                     lambda a, b, axis=-1: kappa_vectorised(a, b, labels, "quadratic")),
        "spearman": (_spearman_point(h, j), lambda a, b, axis=-1: spearman_vectorised(a, b)),
        "exact_agreement": (float(np.mean(h == j)), lambda a, b, axis=-1: np.mean(a == b, axis=-1)),
        "within_one_agreement": (float(np.mean(abs(h - j) <= 1)), lambda a, b, axis=-1: np.mean(abs(a - b) <= 1, axis=-1)),
        "mean_bias": (float(np.mean(j - h)), lambda a, b, axis=-1: np.mean(b - a, axis=-1)),
    }
    out = {}
    for name, (point, statistic) in table.items():
        low, high = bootstrap_interval(statistic, h, j, n_resamples=n_resamples, seed=seed)
        out[name] = Estimate(_finite(point), low, high)
    return out
