"""Prediction-powered inference for a judge-scored paired difference of two variants.

Angelopoulos, Bates, Fannjiang, Jordan & Zrnic, "Prediction-powered inference", Science 382
(2023), the mean-estimation case. Per case *i* the quantity of interest is the human-rated
difference ``Y_i = h(candidate_i) − h(baseline_i)``; the judge gives ``f_i = j(candidate_i) −
j(baseline_i)`` on every case, people give ``Y_i`` on a labelled subset that must be a
*uniform random* sample of the cases (``harness judge sample --uniform``; a stratified sample
would bias the correction). With ``N`` unlabelled and ``n`` labelled cases::

    delta  = mean_N(f) − mean_n(f − Y)                    # the judge's difference, rectified
    se     = sqrt(var_N(f) / N + var_n(f − Y) / n)
    interval = delta ± z_(1 − (1 − confidence)/2) · se

The rectifier ``mean_n(f − Y)`` estimates the judge's bias on the difference, so the interval
stays valid however biased the judge is; a judge that agrees with people makes ``var(f − Y)``
small and the interval narrower than people's labels alone would give. A judge that tracks
people loosely can make plain PPI *wider* than people alone; PPI++'s power tuning (``weight=None``)
weights the judge by how well it tracks people, which avoids that, but its weight is estimated
from the labelled cases and its interval undercovered with 30 of them (0.92 for a nominal 0.95
in ``bench/ppi_coverage.py``), so the gate uses plain PPI. The uncorrected (naive) judge-only
interval is reported beside it, for contrast only.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats


@dataclass(frozen=True)
class PPIDelta:
    """A prediction-powered paired difference, candidate − baseline, on the judge's scale."""

    delta: float
    """The rectified estimate."""
    low: float
    """Lower end of the interval."""
    high: float
    """Upper end."""
    confidence: float
    """The interval's nominal coverage."""
    n_unlabelled: int
    """Cases with judge scores only."""
    n_labelled: int
    """Cases with judge scores and human labels on both variants."""
    rectifier: float
    """mean(judge difference − human difference) on the labelled cases: the judge's estimated bias."""
    naive_delta: float
    """The judge's uncorrected mean difference over every case (biased when the judge is)."""
    naive_low: float
    """Lower end of the naive interval (for contrast; never used to decide)."""
    naive_high: float
    """Upper end of the naive interval."""
    weight: float = 1.0
    """The judge's weight λ (1: PPI as published; tuned by PPI++ when asked)."""


def _var(x: np.ndarray) -> float:
    return float(np.var(x, ddof=1)) if len(x) > 1 else 0.0


def power_tuned_weight(judge_unlabelled: np.ndarray, judge_labelled: np.ndarray, human_labelled: np.ndarray) -> float:
    """PPI++'s variance-minimising weight of the judge (Angelopoulos, Duchi & Zrnic, "PPI++: Efficient
    Prediction-Powered Inference", 2023, the mean case): ``Cov(Y, f) / ((1 + n/N) Var(f))``, clipped to [0, 1].

    0 ignores the judge (people's labels alone), 1 is plain PPI; a judge that tracks people poorly gets
    little weight, so the interval is never much wider than people's labels alone would give.
    """
    n, big_n = len(judge_labelled), len(judge_unlabelled)
    if big_n == 0 or n < 2:
        return 0.0
    every = np.concatenate([judge_unlabelled, judge_labelled])
    variance = float(np.var(every, ddof=1))
    if variance == 0:
        return 0.0
    covariance = float(np.cov(human_labelled, judge_labelled, ddof=1)[0, 1])
    return float(np.clip(covariance / ((1 + n / big_n) * variance), 0.0, 1.0))


def ppi_mean_difference(judge_unlabelled: Sequence[float], judge_labelled: Sequence[float],
                        human_labelled: Sequence[float], *, confidence: float = 0.95,
                        weight: float | None = 1.0) -> PPIDelta:
    """The PPI estimate and interval of the mean human-rated difference.

    Args:
        judge_unlabelled: per unlabelled case, the judge's difference (candidate − baseline).
        judge_labelled: per labelled case, the judge's difference.
        human_labelled: per labelled case (same order), the human difference.
        confidence: nominal coverage of the interval.
        weight: the judge's weight λ: 1 is PPI as published, None tunes it (:func:`power_tuned_weight`, PPI++).

    Raises:
        ValueError: fewer than two labelled cases, or lengths that do not match.
    """
    f_all = np.asarray(judge_unlabelled, dtype=float)
    f_lab, y_lab = np.asarray(judge_labelled, dtype=float), np.asarray(human_labelled, dtype=float)
    if f_lab.shape != y_lab.shape or f_lab.ndim != 1:
        raise ValueError(f"labelled judge and human differences must be 1-D and the same length: {f_lab.shape}, "
                         f"{y_lab.shape}")
    if len(f_lab) < 2:
        raise ValueError("PPI needs at least two labelled cases")
    z = float(stats.norm.ppf(1 - (1 - confidence) / 2))
    lam = power_tuned_weight(f_all, f_lab, y_lab) if weight is None else (weight if len(f_all) else 0.0)
    rectify = lam * f_lab - y_lab
    if len(f_all):
        delta = float(lam * f_all.mean() - rectify.mean())
        se = math.sqrt(lam**2 * _var(f_all) / len(f_all) + _var(rectify) / len(rectify))
    else:  # every case labelled: the human mean itself
        delta, se = float(y_lab.mean()), math.sqrt(_var(y_lab) / len(y_lab))
    every = np.concatenate([f_all, f_lab])
    naive = float(every.mean())
    naive_se = math.sqrt(_var(every) / len(every))
    return PPIDelta(delta, delta - z * se, delta + z * se, confidence, len(f_all), len(f_lab),
                    float((f_lab - y_lab).mean()), naive, naive - z * naive_se, naive + z * naive_se, lam)
