"""The gate's rules and its fail-closed paths, on hand-made scored results (no model needed)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from harness.config.gate import GateRules, gate_rules
from harness.errors import ConfigError, InputError
from harness.gate.checks import data_check, decide, floor_check, judge_check, primary_check, regression_check
from harness.records import Case, CaseResult, Generation, Score

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
    from harness.gate.decision import GateCheck as Check

    assert decide([Check("a", "pass", ""), Check("b", "pass", "")]) == "accepted"
    assert decide([Check("a", "pass", ""), Check("b", "inconclusive", "")]) == "inconclusive"
    assert decide([Check("a", "fail", ""), Check("b", "inconclusive", "")]) == "rejected"
    assert decide([]) == "inconclusive"


def test_gate_rules_validation():
    from harness.config.gate import GateSection

    kinds = {"prompt": "prompt", "ft": "adapter"}
    rules = gate_rules(GateSection(), kinds, ("a",))
    assert rules.candidate == "ft" and rules.baselines == ("prompt",) and rules.fields == ("a",)
    with pytest.raises(ConfigError, match="must name an adapter variant; adapter variants: ft"):
        gate_rules(GateSection(candidate="prompt"), kinds)
    with pytest.raises(ConfigError, match="no scorer emits metric 'bogus'"):
        gate_rules(GateSection(primary="bogus"), kinds, metrics={"ok"})


GATE_CONFIG = """\
task: triage
model: {model}
cases: ./heldout.jsonl
variants:
  prompt-only: {{kind: prompt}}
  fine-tuned: {{kind: adapter, adapter: current:triage}}
scoring: {{fields: [category]}}
gate: {{min_cases: 2}}
"""


@pytest.fixture
def gate_project(tmp_path, tiny_checkpoint, tiny_adapters):
    import shutil

    from harness.fileio import sha256_file
    from tests.tiny import write_triage_file

    write_triage_file(tmp_path / "train.jsonl", 10)
    write_triage_file(tmp_path / "heldout.jsonl", 4, offset=100)
    (tmp_path / "harness.yaml").write_text(GATE_CONFIG.format(model=tiny_checkpoint))
    candidate = tmp_path / "candidates" / "triage-1"
    shutil.copytree(tiny_adapters["a"], candidate)
    data = {"dataset": str(tmp_path / "train.jsonl"), "dataset_sha256": sha256_file(tmp_path / "train.jsonl")}
    (candidate / "manifest.json").write_text(json.dumps({"task": "triage", "data": data}))
    return tmp_path, candidate


@pytest.mark.slow
def test_an_error_during_evaluation_is_inconclusive_not_an_accept(gate_project, monkeypatch):
    import harness.gate.run as gate_run

    project, candidate = gate_project

    def broken(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(gate_run, "_evaluate", broken)
    decision = gate_run.run_gate(candidate, project / "harness.yaml")
    assert decision.verdict == "inconclusive"
    assert "disk on fire" in decision.checks[0].explanation
    assert json.loads((candidate / "decision.json").read_text())["verdict"] == "inconclusive"


@pytest.mark.slow
def test_leakage_check_fails_closed_on_missing_or_changed_training_data(gate_project):
    from dataclasses import replace

    from harness.config.eval_config import load_eval_config
    from harness.gate.probes import leakage_check as _leakage_check
    from harness.manifests import read_candidate_manifest

    project, candidate = gate_project
    config = load_eval_config(project / "harness.yaml")
    manifest = read_candidate_manifest(candidate)
    assert manifest.data is not None
    assert _leakage_check(config, manifest).verdict == "pass"
    (project / "train.jsonl").write_text((project / "train.jsonl").read_text() + (project / "heldout.jsonl").read_text())
    assert "changed since training" in _leakage_check(config, manifest).explanation
    data = replace(manifest.data, dataset_sha256=__import__("harness.fileio").fileio.sha256_file(project / "train.jsonl"))
    leaked = _leakage_check(config, replace(manifest, data=data))
    assert leaked.verdict == "fail" and "4 held-out cases leak" in leaked.explanation
    gone = replace(manifest, data=replace(data, dataset=str(project / "gone.jsonl")))
    assert _leakage_check(config, gone).verdict == "inconclusive"


@pytest.mark.slow
def test_candidate_for_another_task_is_an_input_error(gate_project):
    from harness.gate.run import run_gate

    project, candidate = gate_project
    (candidate / "manifest.json").write_text(json.dumps({"task": "house_style"}))
    with pytest.raises(InputError, match="trained for task 'house_style', the config gates 'triage'"):
        run_gate(candidate, project / "harness.yaml")
    assert not (candidate / "decision.json").exists()


@pytest.mark.slow
def test_gate_end_to_end_on_a_tiny_model_writes_the_decision_table(gate_project, capsys):
    from harness.cli.main import main

    project, candidate = gate_project
    code = main(["gate", str(candidate), "--config", str(project / "harness.yaml"), "--runs-dir", str(project / "runs")])
    out = capsys.readouterr().out
    decision = json.loads((candidate / "decision.json").read_text())
    assert code == (0 if decision["verdict"] == "accepted" else 1)
    assert "beats prompt-only on field_macro_f1" in out and f"verdict: {decision['verdict'].upper()}" in out
    assert decision["inputs"]["candidate_adapter_sha256"] and decision["inputs"]["cases_sha256"]
    fields = decision["variants"]["fine-tuned"]["fields"]["category"]
    assert {"accuracy", "macro_f1", "balanced_accuracy", "majority_rate"} <= set(fields)
    assert decision["variants"]["prompt-only"]["cost"]["errors"] == 0
    assert decision["schema_version"] == 2 and decision["inputs"]["candidate_adapter_config_sha256"]
    assert len(list((candidate / "decisions").glob("*.json"))) == 1  # the history keeps every attempt


@pytest.mark.slow
def test_a_gate_attempt_that_fails_on_the_environment_keeps_the_real_decision(gate_project, capsys):
    from harness.cli.main import main

    project, candidate = gate_project
    (candidate / "decision.json").write_text(json.dumps({"verdict": "rejected", "checks": [{"name": "data"}] * 8}))
    before = (candidate / "decision.json").read_text()
    (project / "runs").write_text("a file, not a folder")
    code = main(["gate", str(candidate), "--config", str(project / "harness.yaml"), "--runs-dir", str(project / "runs")])
    assert code == 2 and "not-a-folder" in capsys.readouterr().err
    assert (candidate / "decision.json").read_text() == before and not (candidate / "decisions").exists()


def test_rules_derive_from_the_section_and_read_decisions_of_either_shape():
    import dataclasses

    from harness.config.gate import GateSection, GeneralSection

    section = GateSection(margin=0.02, general=GeneralSection(items="/g.jsonl", max_new_tokens=12))
    rules = gate_rules(section, {"prompt": "prompt", "ft": "adapter"})
    assert isinstance(rules, GateSection) and rules.margin == 0.02 and rules.general.items == "/g.jsonl"
    assert all(getattr(rules, f.name) == getattr(section, f.name) for f in dataclasses.fields(GateSection)
               if f.name not in ("candidate", "baselines", "fields"))
    recorded = dataclasses.asdict(rules)
    assert recorded["general"] == {"items": "/g.jsonl", "tolerance": 0.05, "max_new_tokens": 12}
    assert GateRules.from_dict(recorded) == rules
    flat = {"candidate": "ft", "baselines": ["prompt"], "general_items": "/g.jsonl", "general_tolerance": 0.1,
            "general_max_new_tokens": 12, "forgetting_text": None, "forgetting_tolerance": 0.2, "removed_key": 1,
            "judge": {"rubric": None, "model": "m", "base_url": None, "store": None, "max_age_days": 3.0}}
    old = GateRules.from_dict(flat)
    assert (old.general.items, old.general.tolerance, old.general.max_new_tokens) == ("/g.jsonl", 0.1, 12)
    assert (old.forgetting.text, old.forgetting.tolerance, old.judge.max_age_days) == (None, 0.2, 3.0)
    assert old.baselines == ("prompt",) and old.margin == GateSection().margin
