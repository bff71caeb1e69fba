"""The alternative annotator test: may the judge replace one of the raters?

Calderon, Reichart & Dror, "The Alternative Annotator Test for LLM-as-a-Judge: How to
Statistically Justify Replacing Human Annotators with LLMs" (ACL 2025), following the
authors' reference procedure (the ``alt_test`` function of their repository):

1. Leave one rater *j* out. On each item *i* that *j* rated with at least one other rater,
   score how well *j*'s rating and the judge's score align with the remaining raters'
   ratings (negative RMSE, the paper's alignment score for rating scales).
2. ``W_judge = 1`` when the judge aligns at least as well as *j*, ``W_rater = 1`` when *j*
   aligns at least as well as the judge (ties count for both).
3. One-sided one-sample t-test of ``d = W_rater − W_judge`` with H0: mean(d) ≥ ε, H1: mean(d) < ε
   (``scipy.stats.ttest_1samp(d, ε, alternative="less")``): ε is the cost margin that a
   cheaper annotator is granted (the paper: 0.2 for experts, 0.15 skilled, 0.1 crowd workers).
4. Correct the per-rater p-values with the Benjamini–Yekutieli procedure at q = 0.05 (valid
   under the dependence the shared raters create), via ``scipy.stats.false_discovery_control``.
5. The winning rate is the share of raters whose null is rejected; the judge passes at ≥ 0.5.

The paper drops raters with fewer than 30 such items; so does :func:`alt_test`. An item the
judge left unscored counts as a loss for the judge (fails closed). The advantage probability
(the mean ``W_judge`` over raters) ranks judges, it does not decide.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from scipy import stats

MIN_RATERS = 3
"""The test needs at least three raters: each left-out rater is compared against at least two others' view."""


@dataclass(frozen=True)
class AltTestRater:
    """The judge against one left-out rater."""

    rater: str
    """The left-out rater."""
    n: int
    """Items this rater rated with at least one other rater."""
    judge_advantage: float
    """Share of those items where the judge aligned with the others at least as well as the rater (ρ for the judge)."""
    rater_advantage: float
    """Share where the rater aligned at least as well as the judge."""
    p_value: float
    """One-sided t-test p-value of H0: rater_advantage − judge_advantage ≥ ε."""
    adjusted_p_value: float
    """The Benjamini–Yekutieli adjusted p-value."""
    judge_wins: bool
    """The null is rejected at the FDR level: the judge may stand in for this rater."""


@dataclass(frozen=True)
class AltTest:
    """The alternative annotator test's outcome."""

    epsilon: float
    """The cost margin ε granted to the judge."""
    q: float
    """The false discovery rate the Benjamini–Yekutieli procedure controls."""
    min_items: int
    """Raters with fewer shared items were left out."""
    raters: list[AltTestRater]
    """Per tested rater, sorted by name."""
    skipped: dict[str, str]
    """Rater → why it was not tested."""
    winning_rate: float
    """Share of tested raters the judge wins against."""
    advantage_probability: float
    """Mean judge advantage over the tested raters."""
    passed: bool
    """``winning_rate >= 0.5``."""


def _neg_rmse(value: float, others: list[int]) -> float:
    return -math.sqrt(sum((value - o) ** 2 for o in others) / len(others))


def one_sided_p(differences: np.ndarray, epsilon: float) -> float:
    """p-value of H0: mean(differences) ≥ ε against H1: mean < ε (one-sample t-test, as the paper)."""
    if np.ptp(differences) == 0:  # no spread: the t statistic is undefined; the mean alone decides
        return 0.0 if differences[0] < epsilon else 1.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return float(stats.ttest_1samp(differences, epsilon, alternative="less").pvalue)


def alt_test(ratings: Mapping[str, Mapping[str, int]], judge: Mapping[str, int | None], *, epsilon: float = 0.2,
             q: float = 0.05, min_items: int = 30) -> AltTest | None:
    """Run the test; None when fewer than :data:`MIN_RATERS` raters have ``min_items`` items shared with another rater."""
    tested: list[tuple[str, np.ndarray, np.ndarray]] = []
    skipped: dict[str, str] = {}
    for rater in sorted(ratings):
        judge_w, rater_w = [], []
        for item in sorted(ratings[rater]):
            rest = [ratings[r][item] for r in sorted(ratings) if r != rater and item in ratings[r]]
            if not rest:
                continue
            score = judge.get(item)
            own = _neg_rmse(ratings[rater][item], rest)
            theirs = _neg_rmse(score, rest) if score is not None else -math.inf
            judge_w.append(float(theirs >= own))
            rater_w.append(float(own >= theirs))
        if len(judge_w) < min_items:
            skipped[rater] = f"{len(judge_w)} items shared with another rater (fewer than {min_items})"
            continue
        tested.append((rater, np.asarray(judge_w), np.asarray(rater_w)))
    if len(tested) < MIN_RATERS:
        return None
    p_values = np.asarray([one_sided_p(h - f, epsilon) for _, f, h in tested])
    adjusted = stats.false_discovery_control(p_values, method="by")
    rows = [AltTestRater(rater, len(f), float(f.mean()), float(h.mean()), float(p), float(a), bool(a <= q))
            for (rater, f, h), p, a in zip(tested, p_values, adjusted, strict=True)]
    winning = sum(r.judge_wins for r in rows) / len(rows)
    return AltTest(epsilon, q, min_items, rows, skipped, winning, float(np.mean([r.judge_advantage for r in rows])),
                   winning >= 0.5)
