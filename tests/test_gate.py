"""The gate's rules and its fail-closed paths, on hand-made scored results (no model needed)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from harness.errors import ConfigError, InputError
from harness.gate.checks import data_check, decide, floor_check, judge_check, primary_check, regression_check
from harness.gate.rules import GateRules, gate_rules
from harness.records import Case, CaseResult, Generation, Score
from harness.registry import NotAccepted, current, promote, resolve_adapter, rollback

RULES = GateRules(candidate="ft", baselines=("prompt",), primary="ok", min_cases=20, n_resamples=2000)


def results(variant: str, values, error_at: int | None = None, ids=None) -> list[CaseResult]:
    out = []
    for i, v in enumerate(values):
        error = "boom" if i == error_at else None
        out.append(CaseResult(Case((ids or [f"c{j:03}" for j in range(len(values))])[i], "t", (), None),
                              Generation(f"c{i}", variant, text=None if error else "x", error=error),
                              [Score("ok", None if error else float(v))]))
    return out


def paired(base, cand) -> dict[str, list[CaseResult]]:
    return {"prompt": results("prompt", base), "ft": results("ft", cand)}


def test_clear_win_passes_clear_loss_fails_and_a_tie_is_inconclusive():
    rng = np.random.default_rng(0)
    base = rng.random(120) < 0.5
    assert primary_check("prompt", paired(base, np.ones(120)), RULES).verdict == "pass"
    assert primary_check("prompt", paired(base, np.zeros(120)), RULES).verdict == "fail"
    same = primary_check("prompt", paired(base, base), RULES)
    assert same.verdict == "fail" and same.p_value == 1.0 and same.n == 120  # identical outputs: certainly no win
    noisy = base.copy()
    noisy[:10] = ~noisy[:10]  # as many cases won as lost
    tie = primary_check("prompt", paired(base, noisy), RULES)
    assert tie.verdict == "inconclusive" and "no demonstrated win" in tie.explanation


def test_too_few_cases_is_inconclusive_not_a_pass():
    check = data_check(paired(np.zeros(10), np.ones(10)), RULES)
    assert check.verdict == "inconclusive" and "only 10 cases" in check.explanation


def test_generation_errors_missing_variants_and_unpaired_cases_are_inconclusive():
    with_error = {"prompt": results("prompt", np.zeros(30)), "ft": results("ft", np.ones(30), error_at=3)}
    assert data_check(with_error, RULES).verdict == "inconclusive"
    assert data_check({"ft": results("ft", np.ones(30))}, RULES).verdict == "inconclusive"
    shifted = {"prompt": results("prompt", np.zeros(30)),
               "ft": results("ft", np.ones(30), ids=[f"x{j}" for j in range(30)])}
    assert "different cases" in data_check(shifted, RULES).explanation


def test_unscored_primary_is_inconclusive():
    base, cand = results("prompt", np.zeros(30)), results("ft", np.ones(30))
    for r in cand:
        r.scores = []
    assert primary_check("prompt", {"prompt": base, "ft": cand}, RULES).verdict == "inconclusive"


def test_floor_and_regression_checks():
    cand = results("ft", [1] * 18 + [0] * 2)
    assert floor_check("ok", 0.95, cand).verdict == "fail"
    assert floor_check("ok", 0.9, cand).verdict == "pass"
    assert floor_check("missing", 0.9, cand).verdict == "inconclusive"
    rng = np.random.default_rng(1)
    base = (rng.random(100) < 0.7).astype(float)
    assert regression_check("general", base, base, 0.05, RULES).verdict == "pass"
    assert regression_check("general", base, np.zeros(100), 0.05, RULES).verdict == "fail"
    losses = rng.normal(3.0, 0.2, 40)
    assert regression_check("forgetting", losses, losses * 1.5, 0.10, RULES, higher_is_better=False,
                            relative_to=3.0).verdict == "fail"


def test_judge_metrics_never_count_without_a_calibration():
    assert judge_check(RULES).verdict == "pass"
    check = judge_check(GateRules(candidate="ft", baselines=("prompt",), judge_metrics=("judge_tone",)))
    assert check.verdict == "inconclusive" and "calibration" in check.explanation


def test_decision_accepts_only_when_every_check_passes():
    from harness.gate.checks import Check

    assert decide([Check("a", "pass", ""), Check("b", "pass", "")]) == "accepted"
    assert decide([Check("a", "pass", ""), Check("b", "inconclusive", "")]) == "inconclusive"
    assert decide([Check("a", "fail", ""), Check("b", "inconclusive", "")]) == "rejected"
    assert decide([]) == "inconclusive"


def test_gate_rules_validation():
    from harness.evalconfig import VariantSpec

    variants = {"prompt": VariantSpec("prompt", "prompt"), "ft": VariantSpec("ft", "adapter", adapter="x")}
    rules = gate_rules({}, variants, {"fields": ["a"]}, __import__("pathlib").Path("."))
    assert rules.candidate == "ft" and rules.baselines == ("prompt",) and rules.fields == ("a",)
    with pytest.raises(ConfigError, match="unknown key gate.bogus"):
        gate_rules({"bogus": 1}, variants, {}, __import__("pathlib").Path("."))
    with pytest.raises(ConfigError, match="must name an adapter variant; adapter variants: ft"):
        gate_rules({"candidate": "prompt"}, variants, {}, __import__("pathlib").Path("."))


def make_candidate(root, name, task="triage", verdict=None):
    folder = root / name
    folder.mkdir(parents=True)
    (folder / "manifest.json").write_text(json.dumps({"task": task, "created_at": name}))
    if verdict:
        (folder / "decision.json").write_text(json.dumps({"verdict": verdict}))
    return folder


def test_registry_promotes_only_accepted_candidates_and_rolls_back(tmp_path):
    first = make_candidate(tmp_path, "c1", verdict="accepted")
    second = make_candidate(tmp_path, "c2", verdict="accepted")
    rejected = make_candidate(tmp_path, "c3", verdict="rejected")
    with pytest.raises(InputError, match="no current adapter for task 'triage'"):
        current("triage", tmp_path)
    promote(first, tmp_path)
    promote(second, tmp_path)
    assert current("triage", tmp_path) == tmp_path / "c2"
    assert resolve_adapter("current:triage", tmp_path) == tmp_path / "c2"
    with pytest.raises(NotAccepted, match="verdict is rejected"):
        promote(rejected, tmp_path)
    assert rollback("triage", tmp_path)["current"] == "c1"
    with pytest.raises(InputError, match="no previous adapter"):
        rollback("triage", tmp_path)
    assert json.loads((tmp_path / "registry.json").read_text())["tasks"]["triage"]["current"] == "c1"
