"""The registry and decision records: promotion bound to the bytes the gate judged, history, damaged files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from harness.cli.main import main
from harness.errors import InputError
from harness.gate.decision import Decision, GateCheck, decision_table, render_check
from harness.gate.promote import NotAccepted, promote, rollback
from harness.gate.store import hash_inputs, load_decision, write_decision
from harness.registry.deployments import current, resolve_adapter

FIXTURE = Path(__file__).parent / "fixtures" / "decisions" / "decision_v1.json"


def make_candidate(root: Path, name: str, task: str = "triage", verdict: str | None = None) -> Path:
    """A candidate folder with stand-in adapter files and, given a verdict, a decision binding their hashes."""
    folder = root / name
    folder.mkdir(parents=True)
    save_file({"base_model.model.lora_A.weight": torch.full((2, 2), float(len(name)) + sum(name.encode()))},
              str(folder / "adapter_model.safetensors"))  # a real safetensors file, distinct per candidate
    (folder / "adapter_config.json").write_text(json.dumps({"peft_type": "LORA", "r": 8, "lora_alpha": 16,
                                                            "target_modules": ["q_proj", "v_proj"]}))
    (root / "train.jsonl").write_text("{}\n")
    (root / "heldout.jsonl").write_text("{}\n")
    (root / "harness.yaml").write_text("task: triage\n")
    (folder / "manifest.json").write_text(json.dumps({"task": task, "created_at": name}))
    if verdict:
        inputs = hash_inputs(folder, str(root / "harness.yaml"), str(root / "heldout.jsonl"), str(root / "train.jsonl"),
                             __import__("harness.fileio").fileio.sha256_file(root / "train.jsonl"))
        write_decision(Decision(verdict, [GateCheck("data", "pass", "ok")], task, name, "now", inputs), folder)
    return folder


def test_registry_promotes_only_accepted_candidates_and_rolls_back(tmp_path):
    first = make_candidate(tmp_path, "c1", verdict="accepted")
    second = make_candidate(tmp_path, "c2", verdict="accepted")
    rejected = make_candidate(tmp_path, "c3", verdict="rejected")
    with pytest.raises(InputError, match="no current adapter for task 'triage'"):
        current("triage", tmp_path)
    with pytest.raises(InputError, match=r"harness decide --config suites/triage/harness.yaml --promote"):
        resolve_adapter("current:triage", tmp_path, config="suites/triage/harness.yaml")  # names the real config
    promote(first, tmp_path)
    promote(second, tmp_path)
    assert current("triage", tmp_path) == tmp_path / "c2"
    assert resolve_adapter("current:triage", tmp_path) == tmp_path / "c2"
    with pytest.raises(NotAccepted, match="verdict is rejected"):
        promote(rejected, tmp_path)
    assert rollback("triage", tmp_path).current.id == "c1"
    with pytest.raises(InputError, match="no previous adapter"):
        rollback("triage", tmp_path)
    assert json.loads((tmp_path / "registry.json").read_text())["tasks"]["triage"]["current"] == "c1"


@pytest.mark.parametrize("changed", ["adapter_model.safetensors", "adapter_config.json", "manifest.json"])
def test_promotion_is_refused_when_a_judged_file_changed(tmp_path, changed, capsys):
    folder = make_candidate(tmp_path, "c1", verdict="accepted")
    path = folder / changed
    path.write_bytes(path.read_bytes().replace(b"1", b"2").replace(b"16", b"64") + b" ")
    assert main(["registry", "--root", str(tmp_path), "promote", "c1"]) == 2
    err = capsys.readouterr().err
    assert f"{changed} ({path}) changed since the gate decided" in err and "rerun `harness gate" in err
    assert not (tmp_path / "registry.json").exists()


def test_promotion_is_refused_when_the_training_data_changed(tmp_path):
    folder = make_candidate(tmp_path, "c1", verdict="accepted")
    (tmp_path / "train.jsonl").write_text('{"more": 1}\n')
    with pytest.raises(NotAccepted, match="training data .* changed"):
        promote(folder, tmp_path)


def test_rollback_after_a_forced_promotion_does_not_carry_forced(tmp_path):
    make_candidate(tmp_path, "c1", verdict="accepted")
    make_candidate(tmp_path, "c2", verdict="rejected")
    promote("c1", tmp_path)
    assert promote("c2", tmp_path, force=True).current.forced
    restored = rollback("triage", tmp_path)
    assert restored.current.id == "c1" and restored.current.forced is False
    assert json.loads((tmp_path / "registry.json").read_text())["tasks"]["triage"]["forced"] is False


def test_registry_list_marks_a_damaged_manifest_and_decision_and_lists_the_rest(tmp_path, capsys):
    make_candidate(tmp_path, "a-good", verdict="accepted")
    (make_candidate(tmp_path, "b-bad-manifest") / "manifest.json").write_text("{not json")
    (make_candidate(tmp_path, "c-bad-decision") / "decision.json").write_text("[]")
    assert main(["registry", "--root", str(tmp_path), "list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 3 and "accepted" in lines[0]
    assert "damaged" in lines[1] and "manifest.json" in lines[1]
    assert "damaged" in lines[2] and "decision.json" in lines[2]


def test_a_damaged_registry_index_or_decision_is_a_clear_input_error(tmp_path, capsys):
    folder = make_candidate(tmp_path, "c1", verdict="accepted")
    (tmp_path / "registry.json").write_text('{"tasks": ')
    assert main(["registry", "--root", str(tmp_path), "list"]) == 2
    err = capsys.readouterr().err
    assert f"{tmp_path / 'registry.json'}: bad-registry: damaged registry index" in err and "delete it" in err
    (tmp_path / "registry.json").unlink()
    (folder / "decision.json").write_text("\x00garbage")
    assert main(["registry", "--root", str(tmp_path), "promote", "c1"]) == 2
    err = capsys.readouterr().err
    assert f"{folder / 'decision.json'}: bad-decision: damaged decision file" in err and "rerun `harness gate" in err
    assert "Traceback" not in err


def test_a_decision_written_before_the_schema_version_still_loads(tmp_path):
    decision = load_decision(FIXTURE)
    assert decision.schema_version == 1 and decision.verdict == "rejected"
    assert decision.inputs and decision.inputs.candidate_adapter_sha256
    assert decision.inputs.candidate_adapter_config_sha256 is None
    assert [c.name for c in decision.checks][:2] == ["data", "beats prompt-only on field_macro_f1"]
    assert decision.check("beats").interval == (0.0, 0.0)
    assert "verdict: REJECTED (triage-1, task triage)" in decision_table(decision)
    again = Decision.from_dict(json.loads(json.dumps(decision.to_dict())))
    assert again.to_dict() == decision.to_dict() and again.to_dict()["schema_version"] == 1


def test_a_schema_1_accept_does_not_promote_it_binds_no_adapter_config(tmp_path):
    folder = make_candidate(tmp_path, "c1")
    old = json.loads(FIXTURE.read_text())
    old["verdict"] = "accepted"
    (folder / "decision.json").write_text(json.dumps(old))
    with pytest.raises(NotAccepted, match="adapter_config.json is not bound by this decision"):
        promote(folder, tmp_path)


def test_one_rendering_of_a_check():
    check = GateCheck("beats rag on f1", "fail", "not better", delta=-0.1, interval=(-0.2, 0.0), p_value=0.5, n=60,
                      threshold=0.0)
    assert render_check(check) == ("beats rag on f1: FAIL (n 60, delta -0.100, CI [-0.200, +0.000], p 0.5, threshold 0)"
                                   " - not better")


def test_the_recorded_rules_read_back_typed():
    decision = load_decision(FIXTURE)
    assert decision.rules is not None and decision.rules.baselines == ("prompt-only",) and decision.rules.min_cases == 2


def test_hashing_a_missing_input_is_an_input_error_naming_it(tmp_path):
    folder = make_candidate(tmp_path, "c1")
    with pytest.raises(InputError, match="cannot read .*gone.jsonl") as info:
        hash_inputs(folder, None, str(tmp_path / "gone.jsonl"), None, None)
    assert info.value.path == str(tmp_path / "gone.jsonl")


def test_force_still_refuses_a_folder_without_an_adapter(tmp_path, capsys):
    from harness.cli.main import main

    folder = tmp_path / "reg" / "cand-1"
    folder.mkdir(parents=True)
    (folder / "manifest.json").write_text('{"task": "triage"}')
    assert main(["registry", "--root", str(tmp_path / "reg"), "promote", "cand-1", "--force"]) == 2
    assert "adapter" in capsys.readouterr().err
    assert not (tmp_path / "reg" / "registry.json").exists()
