"""Human-human agreement: the ceiling a judge is held to (Krippendorff's alpha, ordinal)."""

from __future__ import annotations

import logging
import warnings
from collections.abc import Sequence

import krippendorff
import numpy as np
from scipy import stats
from sklearn.metrics import cohen_kappa_score

from harness.judge.agreement import Estimate, _finite
from harness.judge.labels import Label

logger = logging.getLogger(__name__)
MIN_ALPHA = 0.667
"""Krippendorff's lowest alpha for tentative conclusions (Krippendorff, *Content Analysis*, 2004, §11.4.4):
below it, people do not agree well enough for their labels to validate anything."""


def reliability_matrix(labels: Sequence[Label]) -> tuple[np.ndarray, list[str], list[str]]:
    """Raters × items matrix of ratings (NaN where a rater did not rate an item), with rater and item names (sorted)."""
    raters = sorted({label.rater for label in labels})
    items = sorted({label.id for label in labels})  # id order: the file's row order changes nothing
    matrix = np.full((len(raters), len(items)), np.nan)
    for label in labels:
        matrix[raters.index(label.rater), items.index(label.id)] = label.human
    return matrix, raters, items


def human_agreement(labels: Sequence[Label], scale: Sequence[int], *, n_resamples: int = 1000,
                    seed: int = 0) -> dict[str, object] | None:
    """Krippendorff's ordinal alpha over every rater (bootstrap over items), and the first two raters' kappas.

    Returns:
        None when fewer than two raters rated a common item.
    """
    matrix, raters, _ = reliability_matrix(labels)
    shared = np.sum(~np.isnan(matrix), axis=0) >= 2
    if len(raters) < 2 or not shared.any():
        return None
    matrix = matrix[:, shared]
    domain = list(scale)

    def alpha(index: np.ndarray) -> float:
        return float(krippendorff.alpha(reliability_data=matrix[:, index], level_of_measurement="ordinal",
                                        value_domain=domain))

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        boot = stats.bootstrap((np.arange(matrix.shape[1]),), alpha, vectorized=False, n_resamples=n_resamples,
                               method="percentile", random_state=np.random.default_rng(seed))
    pair = ~np.isnan(matrix[0]) & ~np.isnan(matrix[1])
    a, b = matrix[0, pair].astype(int), matrix[1, pair].astype(int)
    ci = boot.confidence_interval
    return {"raters": raters, "items": int(matrix.shape[1]),
            "krippendorff_alpha_ordinal": Estimate(alpha(np.arange(matrix.shape[1])), _finite(ci.low), _finite(ci.high)),
            "pair": raters[:2], "pair_items": int(pair.sum()), "exact_agreement": float(np.mean(a == b)),
            "cohen_kappa": float(cohen_kappa_score(a, b, labels=domain)),
            "quadratic_weighted_kappa": float(cohen_kappa_score(a, b, labels=domain, weights="quadratic"))}
