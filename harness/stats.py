"""Paired statistics for comparing variants on the same held-out cases (numpy/scipy, seeded).

Every variant is scored on the same cases, so comparisons are *paired*: the bootstrap
resamples cases (not scores), and McNemar's test looks only at the cases where the two
variants disagree.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import NamedTuple

import numpy as np
from scipy import stats as sps


class PairedDelta(NamedTuple):
    """Candidate minus baseline, with a bootstrap confidence interval."""

    delta: float
    """Observed mean (or metric) difference, candidate − baseline."""
    low: float
    """Lower bound of the percentile bootstrap interval."""
    high: float
    """Upper bound."""
    n: int
    """Number of paired cases."""
    confidence: float


def _paired(baseline: Sequence[float], candidate: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    b, c = np.asarray(baseline, dtype=float), np.asarray(candidate, dtype=float)
    if b.shape != c.shape or b.ndim != 1:
        raise ValueError(f"paired samples must be 1-D and the same length, got {b.shape} and {c.shape}")
    if len(b) == 0:
        raise ValueError("no paired cases")
    if np.isnan(b).any() or np.isnan(c).any():
        raise ValueError("paired samples contain NaN: drop could-not-score cases from both sides first")
    return b, c


def resample_counts(n: int, n_resamples: int, seed: int) -> np.ndarray:
    """How often each case appears in each bootstrap resample: an ``(n_resamples, n)`` count matrix."""
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, n, size=(n_resamples, n)) + (np.arange(n_resamples) * n)[:, None]
    return np.bincount(picks.ravel(), minlength=n_resamples * n).reshape(n_resamples, n).astype(np.float64)


def paired_bootstrap(baseline: Sequence[float], candidate: Sequence[float], *, n_resamples: int = 10_000,
                     confidence: float = 0.95, seed: int = 0) -> PairedDelta:
    """Percentile bootstrap interval of ``mean(candidate - baseline)`` over resampled cases."""
    b, c = _paired(baseline, candidate)
    diffs = c - b
    means = resample_counts(len(diffs), n_resamples, seed) @ diffs / len(diffs)
    tail = (1 - confidence) / 2
    low, high = np.quantile(means, [tail, 1 - tail])
    return PairedDelta(float(diffs.mean()), float(low), float(high), len(diffs), confidence)


def paired_bootstrap_metric(metric: Callable[[np.ndarray, np.ndarray], np.ndarray], baseline: np.ndarray,
                            candidate: np.ndarray, *, n_resamples: int = 10_000, confidence: float = 0.95,
                            seed: int = 0) -> PairedDelta:
    """Bootstrap interval of a corpus-level metric difference (e.g. macro-F1).

    ``metric`` maps a ``(resamples, n)`` weight matrix and one variant's predictions to one
    value per row (a row of ones is the observed data), so resampling stays vectorised.
    Predictions may be ``(n,)`` or ``(k, n)`` (e.g. one row per field): the last axis is
    the cases. Both variants share the resamples: the interval is paired.
    """
    n = np.asarray(baseline).shape[-1]
    weights = resample_counts(n, n_resamples, seed)
    ones = np.ones((1, n))
    observed = float(metric(ones, candidate)[0] - metric(ones, baseline)[0])
    deltas = metric(weights, candidate) - metric(weights, baseline)
    tail = (1 - confidence) / 2
    low, high = np.quantile(deltas, [tail, 1 - tail])
    return PairedDelta(observed, float(low), float(high), n, confidence)


def macro_f1_weighted(labels: Sequence[str], reference: Sequence[str]) -> Callable[[np.ndarray, Sequence[str]], np.ndarray]:
    """A ``metric`` for :func:`paired_bootstrap_metric`: macro-F1 over ``labels`` under case weights.

    Classes absent from both reference and predictions in a resample count as F1 = 0 only
    if present in the reference of the full data (scikit-learn's ``labels=`` behaviour).
    """
    ref = np.asarray(reference)
    ref_onehot = np.stack([ref == label for label in labels], axis=1).astype(float)

    def metric(weights: np.ndarray, predicted: Sequence[str]) -> np.ndarray:
        pred = np.asarray(predicted)
        pred_onehot = np.stack([pred == label for label in labels], axis=1).astype(float)
        tp = weights @ (ref_onehot * pred_onehot)
        fp = weights @ ((1 - ref_onehot) * pred_onehot)
        fn = weights @ (ref_onehot * (1 - pred_onehot))
        denominator = 2 * tp + fp + fn
        f1 = np.divide(2 * tp, denominator, out=np.zeros_like(tp), where=denominator > 0)
        return f1.mean(axis=1)

    return metric


def mcnemar_exact(baseline: Sequence[bool], candidate: Sequence[bool]) -> float:
    """Exact two-sided McNemar p-value: a binomial test on the discordant pairs."""
    b, c = _paired(baseline, candidate)
    only_baseline = int(np.sum((b > 0.5) & (c <= 0.5)))
    only_candidate = int(np.sum((b <= 0.5) & (c > 0.5)))
    discordant = only_baseline + only_candidate
    if discordant == 0:
        return 1.0
    return float(sps.binomtest(only_candidate, discordant, 0.5, alternative="two-sided").pvalue)


def wilson_interval(successes: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval of a single proportion."""
    if n == 0:
        return (0.0, 1.0)
    interval = sps.binomtest(successes, n).proportion_ci(confidence_level=confidence, method="wilson")
    return (float(interval.low), float(interval.high))


def minimum_detectable_effect(n: int, sd: float, *, confidence: float = 0.95, power: float = 0.8) -> float:
    """The smallest true paired mean difference a test at this n detects with ``power``.

    ``sd`` is the standard deviation of the per-case differences (for pass/fail metrics at
    most 1; ``sqrt(discordance rate)`` when known). One-sided lower bound at ``confidence``.
    """
    if n < 2:
        return float("inf")
    z_alpha = sps.norm.ppf(1 - (1 - confidence) / 2)
    return float((z_alpha + sps.norm.ppf(power)) * sd / np.sqrt(n))


def paired_cluster_bootstrap(baseline: Sequence[Sequence[float]], candidate: Sequence[Sequence[float]], *,
                             n_resamples: int = 10_000, confidence: float = 0.95, seed: int = 0) -> PairedDelta:
    """Paired bootstrap with the case as the unit when each case has several samples (repeats).

    ``baseline[i]`` and ``candidate[i]`` are case ``i``'s samples; each case's samples are averaged
    before resampling cases (repeats of one case are not independent cases; with equal sample counts
    this is the cluster bootstrap of the mean). ``n`` is the number of cases.
    """
    b = [float(np.mean(samples)) for samples in baseline]
    c = [float(np.mean(samples)) for samples in candidate]
    return paired_bootstrap(b, c, n_resamples=n_resamples, confidence=confidence, seed=seed)


def pass_at_k(n: int, passed: int, k: int) -> float:
    """Unbiased pass@k from ``n`` samples of which ``passed`` passed: P(at least one of k drawn passes)
    (Chen et al., "Evaluating Large Language Models Trained on Code", 2021)."""
    if not 0 < k <= n or not 0 <= passed <= n:
        raise ValueError(f"need 0 < k <= n and 0 <= passed <= n, got n={n}, passed={passed}, k={k}")
    return 1.0 - float(sps.hypergeom.pmf(0, n, passed, k))


def pass_hat_k(n: int, passed: int, k: int) -> float:
    """pass^k from ``n`` samples of which ``passed`` passed: P(all k drawn pass) (Yao et al., tau-bench, 2024)."""
    if not 0 < k <= n or not 0 <= passed <= n:
        raise ValueError(f"need 0 < k <= n and 0 <= passed <= n, got n={n}, passed={passed}, k={k}")
    return float(sps.hypergeom.pmf(k, n, passed, k))
