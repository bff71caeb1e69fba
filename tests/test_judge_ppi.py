"""Prediction-powered inference for judge-scored paired differences: the math, its coverage, the gate check."""

from __future__ import annotations

import math

import numpy as np
import pytest

from harness.config.gate import GateRules, JudgeSection
from harness.gate.checks import judge_delta_check
from harness.judge.ppi import ppi_mean_difference


def test_point_estimate_and_interval_match_a_hand_computation() -> None:
    unlabelled = [1.0, 0.0, 2.0, 1.0]  # judge differences where nobody labelled
    judge_lab, human_lab = [2.0, 1.0, 1.0], [1.0, 0.0, 1.0]  # the judge overstates by 2/3 on average
    result = ppi_mean_difference(unlabelled, judge_lab, human_lab, confidence=0.95)
    # mean of unlabelled = 1.0; rectifier = mean(1, 1, 0) = 2/3; delta = 1 - 2/3
    assert result.delta == pytest.approx(1 / 3) and result.rectifier == pytest.approx(2 / 3)
    # var(unlabelled, ddof 1) = 2/3; var(rectifier terms 1, 1, 0) = 1/3
    se = math.sqrt((2 / 3) / 4 + (1 / 3) / 3)
    assert result.low == pytest.approx(1 / 3 - 1.959963984540054 * se)
    assert result.high == pytest.approx(1 / 3 + 1.959963984540054 * se)
    assert result.naive_delta == pytest.approx(np.mean(unlabelled + judge_lab))
    assert (result.n_unlabelled, result.n_labelled) == (4, 3)


def simulate(reps: int, n_cases: int, n_labelled: int, seed: int) -> tuple[float, float, float]:
    """Coverage of the PPI and naive intervals, and the mean PPI width, for a judge biased toward the candidate.

    Human scores on 1-5: baseline around 3.0, candidate 0.3 higher. The judge adds noise and rates
    the candidate's (longer) replies 0.5 higher than people do; it also compresses the scale.
    """
    rng = np.random.default_rng(seed)
    true_delta = 0.3
    covered_ppi = covered_naive = 0
    widths = []
    for _ in range(reps):
        quality = rng.normal(3.0, 1.0, n_cases)
        base_h = quality + rng.normal(0, 0.5, n_cases)
        cand_h = quality + true_delta + rng.normal(0, 0.5, n_cases)
        base_j = 0.6 * base_h + 1.2 + rng.normal(0, 0.4, n_cases)
        cand_j = 0.6 * cand_h + 1.2 + 0.5 + rng.normal(0, 0.4, n_cases)
        y, f = cand_h - base_h, cand_j - base_j
        labelled = rng.choice(n_cases, n_labelled, replace=False)
        mask = np.zeros(n_cases, bool)
        mask[labelled] = True
        result = ppi_mean_difference(f[~mask], f[mask], y[mask])
        covered_ppi += result.low <= true_delta <= result.high
        covered_naive += result.naive_low <= true_delta <= result.naive_high
        widths.append(result.high - result.low)
    return covered_ppi / reps, covered_naive / reps, float(np.mean(widths))


def test_ppi_covers_the_true_difference_at_its_nominal_rate_and_the_naive_interval_does_not() -> None:
    reps = 2000
    ppi, naive, _ = simulate(reps, n_cases=300, n_labelled=60, seed=0)
    margin = 1.96 * math.sqrt(0.95 * 0.05 / reps)  # Monte Carlo margin of a 95% coverage estimate: ±0.0096
    print(f"PPI coverage {ppi:.3f} (nominal 0.95 ± {margin:.3f}), naive coverage {naive:.3f}")
    assert abs(ppi - 0.95) <= 2 * margin
    assert naive < 0.2


def _rules(tolerance: float = 0.2) -> GateRules:
    return GateRules(candidate="ft", baselines=("base",), judge_metrics=("judge:style",),
                     judge=JudgeSection(tolerance=tolerance))


def _scores(n: int, cand_shift: float, seed: int = 0) -> tuple[dict, dict]:
    rng = np.random.default_rng(seed)
    human = {}
    for c in range(n):
        q = int(rng.integers(2, 5))
        human[(f"c{c}", "base")] = q
        human[(f"c{c}", "ft")] = int(np.clip(q + round(cand_shift + rng.normal(0, 0.3)), 1, 5))
    judge = {k: min(5, v + (1 if k[1] == "ft" else 0)) for k, v in human.items()}  # the judge loves the candidate
    return judge, human


def test_the_gate_counts_a_judge_metric_only_through_ppi_with_labels_and_a_calibration() -> None:
    judge, human = _scores(200, cand_shift=0.0)
    uncalibrated = judge_delta_check("judge:style", "base", judge, human, (False, "no calibration stored"), _rules())
    assert uncalibrated.verdict == "inconclusive" and "no calibration stored" in uncalibrated.explanation
    unlabelled = judge_delta_check("judge:style", "base", judge, {}, (True, "ok"), _rules())
    assert unlabelled.verdict == "inconclusive" and "0 cases with human labels" in unlabelled.explanation
    labelled = {k: v for k, v in human.items() if int(k[0][1:]) % 4 == 0}  # a quarter of the cases, both variants
    check = judge_delta_check("judge:style", "base", judge, labelled, (True, "ok"), _rules())
    assert check.verdict == "pass" and check.observed["judge_delta_uncorrected"] > 0.5  # the judge alone claims a win
    assert check.delta is not None and abs(check.delta) < 0.2 and check.observed["n_labelled"] == 50


def test_a_real_drop_fails_even_when_the_judge_hides_it() -> None:
    judge, human = _scores(200, cand_shift=-1.0, seed=1)
    labelled = {k: v for k, v in human.items() if int(k[0][1:]) % 4 == 0}
    check = judge_delta_check("judge:style", "base", judge, labelled, (True, "ok"), _rules())
    assert check.observed["judge_delta_uncorrected"] > -0.2  # the biased judge sees almost no drop
    assert check.verdict == "fail" and check.interval is not None and check.interval[1] < -0.2


def test_weight_zero_is_people_alone_and_the_tuned_weight_follows_how_well_the_judge_tracks_people() -> None:
    rng = np.random.default_rng(4)
    y = rng.normal(0.3, 0.7, 60)
    alone = ppi_mean_difference(rng.normal(0, 1, 200), y + 1.0, y, weight=0.0)
    assert alone.delta == pytest.approx(y.mean()) and alone.weight == 0.0
    assert alone.high - alone.low == pytest.approx(2 * 1.959963984540054 * y.std(ddof=1) / math.sqrt(60))
    tracking = ppi_mean_difference(rng.normal(0.3, 0.7, 200) + 1.0, y + 1.0 + rng.normal(0, 0.05, 60), y, weight=None)
    noise = ppi_mean_difference(rng.normal(0, 0.7, 200), rng.normal(0, 0.7, 60), y, weight=None)
    assert tracking.weight > 0.6 and noise.weight < 0.3
    assert tracking.high - tracking.low < alone.high - alone.low
