"""Calibration statistics agree with scikit-learn, scipy and krippendorff; the kappa interval covers the truth."""

from __future__ import annotations

import krippendorff
import numpy as np
import pytest
from scipy.stats import spearmanr
from sklearn.metrics import cohen_kappa_score, confusion_matrix

from harness.judge.agreement import agreement, bootstrap_interval, kappa_vectorised, spearman_vectorised
from harness.judge.calibrate import Threshold, calibrate
from harness.judge.humans import human_agreement
from harness.judge.labels import Label, LabelSet

SCALE = [1, 2, 3, 4, 5]
HUMAN = np.array([1, 2, 3, 4, 5, 5, 4, 3, 2, 1, 3, 3, 4, 5, 2, 2, 4, 5, 1, 3])
JUDGE = np.array([1, 3, 3, 4, 4, 5, 5, 2, 2, 2, 3, 4, 4, 5, 1, 2, 3, 5, 2, 3])


def test_point_estimates_match_the_packages() -> None:
    stats = agreement(HUMAN, JUDGE, SCALE, n_resamples=200)
    assert stats["cohen_kappa"].value == pytest.approx(cohen_kappa_score(HUMAN, JUDGE))
    assert stats["quadratic_weighted_kappa"].value == pytest.approx(cohen_kappa_score(HUMAN, JUDGE, weights="quadratic"))
    assert stats["spearman"].value == pytest.approx(spearmanr(HUMAN, JUDGE).statistic)
    assert stats["exact_agreement"].value == pytest.approx(np.mean(HUMAN == JUDGE))
    assert stats["mean_bias"].value == pytest.approx(np.mean(JUDGE - HUMAN))
    for estimate in stats.values():
        assert estimate.low <= estimate.value <= estimate.high


def test_vectorised_bootstrap_statistics_match_the_packages_row_by_row() -> None:
    rng = np.random.default_rng(3)
    rows_h, rows_j = rng.integers(1, 6, (20, 40)), rng.integers(1, 6, (20, 40))
    for weights in (None, "quadratic"):
        expected = [cohen_kappa_score(h, j, labels=SCALE, weights=weights) for h, j in zip(rows_h, rows_j, strict=True)]
        assert kappa_vectorised(rows_h, rows_j, SCALE, weights) == pytest.approx(expected)
    rho = [spearmanr(h, j).statistic for h, j in zip(rows_h, rows_j, strict=True)]
    assert spearman_vectorised(rows_h, rows_j) == pytest.approx(rho)


def _labels(human, judge, rater="a") -> list[Label]:
    return [Label(f"i{k}", int(h), None if j is None else int(j), rater=rater) for k, (h, j) in enumerate(zip(human, judge,
                                                                                                               strict=True))]


def test_calibration_reports_confusion_baseline_and_unscored() -> None:
    judge = [*JUDGE[:-2].tolist(), None, None]
    result = calibrate(LabelSet(_labels(HUMAN, judge), "x"), SCALE, n_resamples=200)
    scored = slice(0, len(HUMAN) - 2)
    assert result.n == 18 and result.unscored == 2 and result.unscored_rate == pytest.approx(0.1)
    assert result.confusion_matrix["matrix"] == confusion_matrix(HUMAN[scored], JUDGE[scored], labels=SCALE).tolist()
    assert result.baseline["exact_agreement"] == pytest.approx(max(np.bincount(HUMAN)) / len(HUMAN))
    assert len(result.disagreements) == int(np.sum(HUMAN[scored] != JUDGE[scored]))


def test_a_constant_judge_fails_against_the_threshold() -> None:
    result = calibrate(LabelSet(_labels(HUMAN, [1] * len(HUMAN)), "x"), SCALE, Threshold(0.4), n_resamples=200)
    assert result.statistics["cohen_kappa"].value == 0 and result.statistics["spearman"].value is None
    assert not result.passed and "< 0.40" in result.reason


def test_human_human_agreement_matches_krippendorff() -> None:
    second = np.clip(HUMAN + np.array([0, 1, 0, 0, -1] * 4), 1, 5)
    labels = _labels(HUMAN, JUDGE, "ann") + _labels(second, JUDGE, "bob")[:12]
    result = human_agreement(labels, SCALE, n_resamples=100)
    expected = krippendorff.alpha(reliability_data=np.vstack([HUMAN[:12], second[:12]]), level_of_measurement="ordinal",
                                  value_domain=SCALE)
    assert result["krippendorff_alpha_ordinal"].value == pytest.approx(expected) and result["items"] == 12
    assert result["quadratic_weighted_kappa"] == pytest.approx(cohen_kappa_score(HUMAN[:12], second[:12], weights="quadratic"))


def test_kappa_interval_covers_the_value_expected_for_the_noise() -> None:
    """Judge = human label, replaced by a uniform random label with probability 0.3.

    The population kappa of that judge is known in closed form: observed agreement
    0.7 + 0.3/K against chance agreement 1/K when the human labels are uniform, so
    kappa = 0.7 exactly. The 95% interval must cover 0.7 in at least 90% of seeds.
    """
    covered, seeds = 0, 40
    for seed in range(seeds):
        rng = np.random.default_rng(seed)
        human = rng.integers(1, 6, 150)
        judge = np.where(rng.random(150) < 0.3, rng.integers(1, 6, 150), human)
        low, high = bootstrap_interval(lambda h, j, axis=-1: kappa_vectorised(h, j, SCALE), human, judge,
                                       n_resamples=400, seed=seed)
        covered += low <= 0.7 <= high
    assert covered / seeds >= 0.9
