"""Paired statistics: checked against scipy on fixed vectors, and the gate's decision quality by simulation."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats as sps
from sklearn.metrics import f1_score

from harness.config.gate import GateRules
from harness.gate.checks import primary_check
from harness.records import Case, CaseResult, Generation, Score
from harness.stats import (
    macro_f1_weighted,
    mcnemar_exact,
    minimum_detectable_effect,
    paired_bootstrap,
    paired_bootstrap_metric,
    wilson_interval,
)

BASE = np.array([1, 0, 1, 1, 0, 0, 1, 0, 1, 1, 0, 1, 0, 0, 1, 1, 0, 1, 1, 0], dtype=float)
CAND = np.array([1, 1, 1, 1, 0, 1, 1, 1, 1, 1, 0, 1, 1, 0, 1, 1, 1, 1, 1, 0], dtype=float)


def test_paired_bootstrap_matches_scipy_percentile_bootstrap():
    rng = np.random.default_rng(3)
    base = rng.normal(0.5, 0.2, 60)
    cand = base + rng.normal(0.05, 0.1, 60)
    ours = paired_bootstrap(base, cand, n_resamples=20_000, seed=1)
    theirs = sps.bootstrap((cand - base,), np.mean, n_resamples=20_000, method="percentile", random_state=1,
                           confidence_level=0.95).confidence_interval
    assert ours.delta == pytest.approx(np.mean(cand - base))
    assert ours.low == pytest.approx(theirs.low, abs=0.004) and ours.high == pytest.approx(theirs.high, abs=0.004)
    assert paired_bootstrap(BASE, CAND).delta == pytest.approx(0.25)
    assert paired_bootstrap(BASE, CAND, seed=1) == paired_bootstrap(BASE, CAND, seed=1)  # seeded


def test_mcnemar_is_the_exact_binomial_on_discordant_pairs():
    # discordant: candidate-only wins 5, baseline-only wins 0
    assert mcnemar_exact(BASE, CAND) == pytest.approx(sps.binomtest(5, 5, 0.5).pvalue) == pytest.approx(0.0625)
    assert mcnemar_exact(BASE, BASE) == 1.0
    b = np.array([1, 0] * 10 + [1] * 5, dtype=float)
    c = np.array([0, 1] * 10 + [1] * 5, dtype=float)
    assert mcnemar_exact(b, c) == pytest.approx(1.0)


def test_wilson_interval_matches_the_formula():
    low, high = wilson_interval(45, 60)
    z, p, n = sps.norm.ppf(0.975), 45 / 60, 60
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    assert (low, high) == pytest.approx((centre - half, centre + half))


def test_weighted_macro_f1_equals_sklearn_and_paired_interval_contains_the_delta():
    rng = np.random.default_rng(0)
    labels = ["a", "b", "c"]
    reference = rng.choice(labels, 200, p=[0.7, 0.2, 0.1])
    weak = np.array(["a"] * 200)  # always the majority class
    strong = np.where(rng.random(200) < 0.8, reference, weak)
    metric = macro_f1_weighted(labels, reference)
    for predicted in (weak, strong):
        expected = f1_score(reference, predicted, labels=labels, average="macro", zero_division=0)
        assert metric(np.ones((1, 200)), predicted)[0] == pytest.approx(expected)
    delta = paired_bootstrap_metric(metric, weak, strong)
    assert delta.low < delta.delta < delta.high and delta.low > 0.2


def test_bad_inputs_are_refused():
    with pytest.raises(ValueError, match="same length"):
        paired_bootstrap([1, 0], [1])
    with pytest.raises(ValueError, match="NaN"):
        paired_bootstrap([1, np.nan], [1, 0])


def _results(variant: str, passes: np.ndarray) -> list[CaseResult]:
    return [CaseResult(Case(f"c{i}", "t", (), None), Generation(f"c{i}", variant, text="x"), [Score("ok", float(v))])
            for i, v in enumerate(passes)]


def simulate(rng: np.random.Generator, n: int, base_rate: float, improvement: float) -> bool:
    base = rng.random(n) < base_rate
    cand = np.where(rng.random(n) < improvement, True, base)  # candidate fixes a share of the cases
    rules = GateRules(candidate="cand", baselines=("base",), primary="ok", min_cases=10, n_resamples=1000)
    check = primary_check("base", {"base": _results("base", base), "cand": _results("cand", cand)}, rules)
    return check.verdict == "pass"


@pytest.mark.slow
def test_decision_quality_by_simulation():
    """No true difference: accepted at most alpha (+ Monte Carlo slack). A true improvement of the size the
    documented n can detect: accepted at least 80% of the time."""
    rng = np.random.default_rng(7)
    null_rate = np.mean([simulate(rng, 150, 0.6, 0.0) for _ in range(300)])
    assert null_rate <= 0.05 + 0.03  # 3 binomial standard errors of Monte Carlo slack at 300 runs
    # n = 150 at base rate 0.6: fixing 40% of failures raises the pass rate by 0.16
    power = np.mean([simulate(rng, 150, 0.6, 0.40) for _ in range(150)])
    assert power >= 0.80
    mde = minimum_detectable_effect(150, sd=np.sqrt(0.16))  # discordance rate ~ 0.16 for this effect
    assert mde <= 0.16
