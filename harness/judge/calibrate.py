"""The calibration of a judge against human labels: statistics, baselines, probes and the verdict.

The judge is compared with the consensus of the raters (their median per item), with each
rater, and beside each rater compared with the others (:mod:`harness.judge.raters`). The
verdict, in order: the judge's unscored rate must be at most the allowed rate; people must
agree with each other (Krippendorff's ordinal alpha at least 0.667, else the verdict is
``humans-disagree``); then the pass rule: with at least three raters the alternative
annotator test (:mod:`harness.judge.alt_test`), otherwise the lower end of the 95% interval
of the judge's kappa against the consensus (quadratic-weighted by default) must reach the
threshold: a point estimate that merely touches it is not enough.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
from sklearn.metrics import confusion_matrix

from harness.judge.agreement import Estimate, agreement
from harness.judge.alt_test import MIN_RATERS, AltTest, alt_test
from harness.judge.humans import MIN_ALPHA, human_agreement
from harness.judge.labels import LabelSet
from harness.judge.raters import STATISTICS, RaterComparison, rater_comparisons

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Threshold:
    """What a passing calibration needs."""

    min_kappa: float = 0.6
    """Lowest acceptable lower interval end of ``statistic`` (the kappa rule)."""
    statistic: str = "quadratic_weighted_kappa"
    """``quadratic_weighted_kappa`` (ordinal scales) or ``cohen_kappa``."""
    max_unscored_rate: float = 0.1
    """Highest acceptable share of items the judge left unscored."""
    rule: str = "auto"
    """``auto`` (the alternative annotator test where at least three raters allow it, else the kappa rule),
    ``alt-test`` (fail when the labels do not allow it) or ``kappa``."""
    epsilon: float = 0.2
    """The alternative annotator test's cost margin (the paper: 0.2 experts, 0.15 skilled, 0.1 crowd workers)."""
    fdr_q: float = 0.05
    """The false discovery rate of the test's Benjamini–Yekutieli correction."""
    min_alt_items: int = 30
    """Raters with fewer items shared with another rater are left out of the test (the paper's 30)."""
    min_alpha: float = MIN_ALPHA
    """Below this Krippendorff's alpha between people, no judge is validated (Krippendorff's 0.667)."""


RULES = {"kappa": "kappa against the consensus", "alt-test": "alternative annotator test",
         "human-agreement": "human agreement", "unscored": "unscored rate"}
"""The rule that decided a calibration → how the report names it."""


@dataclass
class Calibration:
    """Everything ``harness calibrate`` reports; ``to_dict`` is the ``--format json`` object."""

    n: int
    unscored: int
    unscored_rate: float
    statistics: dict[str, Estimate]
    """The judge against the consensus of every rater (the median; one rater: that rater's labels)."""
    base_rate: dict[str, float]
    baseline: dict[str, Any]
    confusion_matrix: dict[str, Any]
    disagreements: list[dict[str, Any]]
    human_agreement: dict[str, Any] | None
    threshold: Threshold
    passed: bool
    reason: str
    judge_identity: str | None = None
    rubric_sha256: str | None = None
    bias_probes: dict[str, Any] = field(default_factory=dict)
    created_at: str = field(default_factory=lambda: dt.datetime.now(dt.UTC).isoformat(timespec="seconds"))
    raters: list[RaterComparison] = field(default_factory=list)
    """The judge and each rater against the same people (:mod:`harness.judge.raters`)."""
    alt_test: AltTest | None = None
    """The alternative annotator test, where at least three raters allow it."""
    alt_test_note: str | None = None
    """Why the test was not run, when it was not."""
    rule: str = "kappa"
    """What decided: a key of :data:`RULES`."""
    verdict: str = "fail"
    """``pass``, ``fail``, or ``humans-disagree`` (people's own agreement is too low to validate any judge)."""

    def to_dict(self) -> dict[str, Any]:
        """One JSON object with every statistic at the top level."""
        data = asdict(self)
        data.update({name: asdict(estimate) for name, estimate in self.statistics.items()})
        del data["statistics"]
        return data


def _baseline(human: np.ndarray, labels: list[int]) -> dict[str, Any]:
    """What always answering the most common human label gets (kappa 0 by construction)."""
    mode = Counter(human.tolist()).most_common(1)[0][0]
    return {"constant": int(mode), "exact_agreement": float(np.mean(human == mode)),
            "within_one_agreement": float(np.mean(abs(human - mode) <= 1)), "cohen_kappa": 0.0,
            "quadratic_weighted_kappa": 0.0}


def _kappa_verdict(stats: dict[str, Estimate], threshold: Threshold) -> tuple[bool, str]:
    estimate = stats[threshold.statistic]
    if estimate.low is None or estimate.value is None or estimate.high is None:
        return False, f"{threshold.statistic} has no interval (too few scored items or a constant judge)"
    ok = estimate.low >= threshold.min_kappa
    return ok, (f"{threshold.statistic} {estimate.value:.2f} [{estimate.low:.2f}, {estimate.high:.2f}]: lower end "
                f"{'>=' if ok else '<'} {threshold.min_kappa:.2f}")


def _alt_verdict(test: AltTest) -> tuple[bool, str]:
    wins = sum(r.judge_wins for r in test.raters)
    return test.passed, (f"winning rate {wins}/{len(test.raters)} = {test.winning_rate:.2f} "
                         f"{'>=' if test.passed else '<'} 0.50 (epsilon {test.epsilon:g}, Benjamini-Yekutieli q "
                         f"{test.q:g}); advantage probability {test.advantage_probability:.2f}")


def _alpha(human: dict[str, Any] | None) -> float | None:
    if not human:
        return None
    value = human["krippendorff_alpha_ordinal"].value
    return None if value is None else float(value)


def decide(stats: dict[str, Estimate], unscored_rate: float, human: dict[str, Any] | None, test: AltTest | None,
           threshold: Threshold) -> tuple[str, str, str]:
    """(verdict, rule, reason): the unscored rate first, then people's own agreement, then the pass rule."""
    if unscored_rate > threshold.max_unscored_rate:
        return "fail", "unscored", (f"the judge left {unscored_rate:.0%} unscored (allowed "
                                    f"{threshold.max_unscored_rate:.0%})")
    alpha = _alpha(human)
    if alpha is not None and alpha < threshold.min_alpha:
        low, high = human["krippendorff_alpha_ordinal"].low, human["krippendorff_alpha_ordinal"].high  # type: ignore[index]
        interval = "" if low is None or high is None else f" [{low:.2f}, {high:.2f}]"
        return "humans-disagree", "human-agreement", (
            f"the raters do not agree with each other (Krippendorff's ordinal alpha {alpha:.2f}{interval} < "
            f"{threshold.min_alpha:g}): fix the rubric or the labelling guide before any judge can be validated; "
            "the judge does not count")
    if threshold.rule == "alt-test" or (threshold.rule == "auto" and test is not None):
        if test is None:
            return "fail", "alt-test", (f"the alternative annotator test needs at least 3 raters with "
                                        f"{threshold.min_alt_items}+ items shared with another rater")
        ok, reason = _alt_verdict(test)
        return ("pass" if ok else "fail"), "alt-test", reason
    ok, reason = _kappa_verdict(stats, threshold)
    return ("pass" if ok else "fail"), "kappa", reason


def calibrate(labels: LabelSet, scale: list[int], threshold: Threshold | None = None, *, n_resamples: int = 2000,
              seed: int = 0) -> Calibration:
    """Compare the judge with every rater and with their consensus, and decide whether it may count.

    Every figure is computed over items in id order with seeded bootstraps: the order of the
    labels file's rows changes nothing. A file with one rater gives what it always gave (the
    consensus of one rater is that rater).
    """
    threshold = threshold or Threshold()
    consensus = labels.consensus()
    judge_scores = labels.judge_scores()
    items = list(consensus)
    scored = [i for i in items if judge_scores[i] is not None]
    unscored_rate = 1 - len(scored) / len(items)
    human = np.asarray([consensus[i] for i in scored], dtype=int)
    judge = np.asarray([judge_scores[i] for i in scored], dtype=int)
    if len(scored) < 2:
        stats = {name: Estimate(None, None, None) for name in STATISTICS}
    else:
        stats = agreement(human, judge, scale, n_resamples=n_resamples, seed=seed)
    all_human = np.asarray([consensus[i] for i in items], dtype=int)
    ratings = labels.ratings()
    people = human_agreement(labels.labels, scale, n_resamples=min(n_resamples, 1000), seed=seed)  # alpha is slow
    test = alt_test(ratings, judge_scores, epsilon=threshold.epsilon, q=threshold.fdr_q,
                    min_items=threshold.min_alt_items) if len(ratings) >= MIN_RATERS else None
    note = None if test else (f"not run: {len(ratings)} rater(s); the test needs at least {MIN_RATERS} with "
                              f"{threshold.min_alt_items}+ items shared with another rater")
    verdict, rule, reason = decide(stats, unscored_rate, people, test, threshold)
    logger.info("calibration (%s): %s", rule, reason)
    variants = {label.id: label.variant for label in sorted(labels.labels, key=lambda x: (x.id, x.rater))}
    return Calibration(
        n=len(scored), unscored=len(items) - len(scored), unscored_rate=unscored_rate, statistics=stats,
        base_rate={str(k): float(np.mean(all_human == k)) for k in scale}, baseline=_baseline(all_human, scale),
        confusion_matrix={"labels": scale, "rows": "human", "columns": "judge",
                          "matrix": confusion_matrix(human, judge, labels=scale).tolist() if len(scored) else []},
        disagreements=[{"id": i, "variant": variants[i], "human": consensus[i], "judge": judge_scores[i]}
                       for i in scored if consensus[i] != judge_scores[i]],
        human_agreement=people, threshold=threshold, passed=verdict == "pass", reason=reason,
        judge_identity=labels.judge_identity, rubric_sha256=labels.rubric_sha256,
        raters=rater_comparisons(ratings, judge_scores, scale, n_resamples=n_resamples, seed=seed) if len(ratings) > 1
        else [], alt_test=test, alt_test_note=note, rule=rule, verdict=verdict)
