"""The gate counts judge metrics only while the configured judge's stored calibration passes."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from harness.config.gate import GateRules, JudgeSection
from harness.gate.checks import judge_check
from harness.judge import configured_judge

pytestmark = pytest.mark.slow

RUBRIC = Path(__file__).resolve().parents[1] / "suites" / "house_style" / "judge" / "rubric.yaml"


def _rules(store: Path | None, model: str, **judge: object) -> GateRules:
    section = JudgeSection(rubric=str(RUBRIC), model=model, store=str(store) if store else None, **judge)  # type: ignore[arg-type]
    return GateRules(candidate="fine-tuned", baselines=("prompt-only",), judge_metrics=("judge:house_style",), judge=section)


def _store(store: Path, identity: str, rubric: str, passed: bool, days_old: float = 0) -> None:
    created = dt.datetime.now(dt.UTC) - dt.timedelta(days=days_old)
    store.mkdir(parents=True, exist_ok=True)
    (store / f"{identity}.json").write_text(json.dumps({
        "judge_identity": identity, "rubric_sha256": rubric, "passed": passed,
        "created_at": created.isoformat(timespec="seconds"), "reason": "quadratic_weighted_kappa 0.82 [0.71, 0.90]"}))


def test_no_judge_metric_passes_and_no_store_is_inconclusive(tmp_path, tiny_checkpoint):
    assert judge_check(GateRules(candidate="fine-tuned", baselines=("prompt-only",))).verdict == "pass"
    check = judge_check(_rules(None, str(tiny_checkpoint)))
    assert check.verdict == "inconclusive" and "gate.judge.store" in check.explanation


def test_a_passing_calibration_of_this_judge_counts_and_anything_else_does_not(tmp_path, tiny_checkpoint):
    judge = configured_judge(RUBRIC, str(tiny_checkpoint))
    store = tmp_path / "calibrations"
    assert judge_check(_rules(store, str(tiny_checkpoint))).verdict == "inconclusive"  # nothing stored yet
    _store(store, judge.identity, judge.rubric.sha256, passed=True)
    assert judge_check(_rules(store, str(tiny_checkpoint))).verdict == "pass"
    assert judge_check(_rules(store, str(tiny_checkpoint), max_age_days=0.5)).verdict == "pass"  # made just now
    _store(store, judge.identity, judge.rubric.sha256, passed=True, days_old=3)
    stale = judge_check(_rules(store, str(tiny_checkpoint), max_age_days=1))
    assert stale.verdict == "inconclusive" and "days old" in stale.explanation
    _store(store, judge.identity, judge.rubric.sha256, passed=False)
    failed = judge_check(_rules(store, str(tiny_checkpoint)))
    assert failed.verdict == "inconclusive" and "failed its calibration" in failed.explanation
    _store(store, judge.identity, "0" * 64, passed=True)
    assert "another rubric" in judge_check(_rules(store, str(tiny_checkpoint))).explanation


def test_a_calibration_of_another_judge_model_does_not_count(tmp_path, tiny_checkpoint):
    store = tmp_path / "calibrations"
    other = configured_judge(RUBRIC, "smollm2-135m-instruct")
    _store(store, other.identity, other.rubric.sha256, passed=True)
    check = judge_check(_rules(store, str(tiny_checkpoint)))
    assert check.verdict == "inconclusive" and "no calibration stored" in check.explanation


def test_a_judge_metric_without_a_passing_calibration_does_not_count_and_nothing_is_judged(tmp_path, tiny_checkpoint):
    """The PPI check on the gate's own run (tests/test_judge_gate_run.py) starts only after the calibration passes."""
    from harness.gate.checks import judge_metric_checks

    judge = configured_judge(RUBRIC, str(tiny_checkpoint))
    store = tmp_path / "calibrations"
    rules = _rules(store, str(tiny_checkpoint))
    not_a_run = tmp_path / "not-a-run"  # judging it would fail: the calibration must stop the check first
    [uncalibrated] = judge_metric_checks(rules, not_a_run)
    assert uncalibrated.name == "judge:house_style vs prompt-only (PPI)" and uncalibrated.verdict == "inconclusive"
    assert "no calibration stored" in uncalibrated.explanation
    _store(store, judge.identity, judge.rubric.sha256, passed=False)
    [failed] = judge_metric_checks(rules, not_a_run)
    assert failed.verdict == "inconclusive" and "failed its calibration" in failed.explanation
    _store(store, judge.identity, judge.rubric.sha256, passed=True)
    [missing] = judge_metric_checks(rules, not_a_run)
    assert missing.verdict == "inconclusive" and "not a run folder" in missing.explanation
