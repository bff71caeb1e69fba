"""The judge compared with every rater, the way raters are compared with each other.

For each rater *j*, on the items the judge scored:

- the judge against *j*'s ratings;
- the judge against the consensus of the *other* raters (their median,
  :func:`~harness.judge.labels.median_label`);
- *j* against that same consensus of the others: the human ceiling, on the same items and
  against the same target as the judge's row above it.

Every figure is :func:`~harness.judge.agreement.agreement`'s (point estimate and a seeded
bootstrap interval over items). Items are taken in id order, so the order of the labels
file's rows changes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from harness.judge.agreement import Estimate, agreement
from harness.judge.labels import median_label

STATISTICS = ("cohen_kappa", "quadratic_weighted_kappa", "spearman", "exact_agreement", "within_one_agreement",
              "mean_bias")


@dataclass(frozen=True)
class Comparison:
    """One pair of rating sources on their common items."""

    n: int
    """Items compared."""
    statistics: dict[str, Estimate]
    """:data:`STATISTICS`, each with its interval (``mean_bias`` is second minus first: judge − human, rater − others)."""


@dataclass(frozen=True)
class RaterComparison:
    """The judge and one rater, each against the same people."""

    rater: str
    """The rater's name (empty: a file without a ``rater`` column)."""
    judge_vs_rater: Comparison
    """The judge against this rater, on the items both scored."""
    judge_vs_others: Comparison | None
    """The judge against the consensus of the other raters, on the items this rater and another rated
    (None with a single rater)."""
    rater_vs_others: Comparison | None
    """This rater against that consensus, on the same items: the human ceiling for the row above."""


def _empty() -> dict[str, Estimate]:
    return {name: Estimate(None, None, None) for name in STATISTICS}


def compare(reference: Mapping[str, int], other: Mapping[str, int | None], scale: list[int], *, n_resamples: int,
            seed: int) -> Comparison:
    """``other`` against ``reference`` on their common items (``other``'s None left out), in id order."""
    items = sorted(i for i in reference if other.get(i) is not None)
    if len(items) < 2:
        return Comparison(len(items), _empty())
    first = np.asarray([reference[i] for i in items], dtype=int)
    second = np.asarray([other[i] for i in items], dtype=int)
    return Comparison(len(items), agreement(first, second, scale, n_resamples=n_resamples, seed=seed))


def others_consensus(ratings: Mapping[str, Mapping[str, int]], rater: str) -> dict[str, int]:
    """item → the median rating of everyone but ``rater`` (:func:`median_label`), on the items ``rater`` also rated."""
    out: dict[str, int] = {}
    for item in sorted(ratings[rater]):
        rest = [ratings[r][item] for r in sorted(ratings) if r != rater and item in ratings[r]]
        if rest:
            out[item] = median_label(rest)
    return out


def rater_comparisons(ratings: Mapping[str, Mapping[str, int]], judge: Mapping[str, int | None], scale: list[int], *,
                      n_resamples: int = 2000, seed: int = 0) -> list[RaterComparison]:
    """One :class:`RaterComparison` per rater (sorted by name)."""
    rows = []
    for rater in sorted(ratings):
        own = ratings[rater]
        vs_rater = compare(own, judge, scale, n_resamples=n_resamples, seed=seed)
        if len(ratings) < 2:
            rows.append(RaterComparison(rater, vs_rater, None, None))
            continue
        others = {i: v for i, v in others_consensus(ratings, rater).items() if judge.get(i) is not None}
        rows.append(RaterComparison(
            rater, vs_rater,
            compare(others, judge, scale, n_resamples=n_resamples, seed=seed),
            compare(others, {i: own[i] for i in others}, scale, n_resamples=n_resamples, seed=seed)))
    return rows
