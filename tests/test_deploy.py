"""Deployments: variant and adapter rungs promoted on a ladder decision, old registry files, `harness decide`."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from harness.cli.main import main
from harness.gate.ladder.decide import decide_ladder
from harness.gate.ladder.store import LATEST, hash_ladder_inputs, load_ladder, task_folder, write_ladder
from harness.gate.promote import NotAccepted, promote_ladder, rollback
from harness.registry.deployments import deployment
from harness.registry.index import load_index
from tests.test_ladder import KINDS, LOW, RULES, better, rungs, scored

OLD_REGISTRY = Path(__file__).parent / "fixtures" / "registry" / "registry_v0.json"


def decided(root: Path, project: Path, rag_wins: bool = True) -> Path:
    """A ladder decision on synthetic results, bound to real config, cases and corpus files, written under ``root``."""
    for name, text in (("harness.yaml", "task: triage\n"), ("heldout.jsonl", "{}\n"), ("train.jsonl", '{"a": 1}\n')):
        (project / name).write_text(text)
    inputs = hash_ladder_inputs(str(project / "harness.yaml"), str(project / "heldout.jsonl"),
                                {"rag": str(project / "train.jsonl")}, {})
    results = {"prompt-only": scored("prompt-only", LOW), "rag": scored("rag", better(LOW, 40) if rag_wins else LOW),
               "fine-tuned": scored("fine-tuned", LOW)}
    ladder_rungs = [r for r in rungs() if r.variant in KINDS]
    ladder_rungs[1].reference = str(project / "train.jsonl")
    write_ladder(decide_ladder("triage", results, ladder_rungs, RULES, inputs=inputs), root)
    return task_folder(root, "triage") / LATEST


def test_an_old_registry_file_migrates_on_read_and_a_variant_deploys_over_it(tmp_path, capsys):
    root = tmp_path / "candidates"
    root.mkdir()
    shutil.copy(OLD_REGISTRY, root / "registry.json")
    old = deployment("triage", root)
    assert (old.id, old.kind, old.forced) == ("triage-20261101T000000Z", "adapter", False)
    decided(root, tmp_path)
    entry = promote_ladder("triage", root)
    assert (entry.current.id, entry.current.kind) == ("rag", "rag") and entry.current.corpus_sha256
    assert entry.current.decision == "decisions/triage/ladder.json"
    assert [d.id for d in entry.history] == ["triage-20261020T000000Z", "triage-20261101T000000Z"]
    written = json.loads((root / "registry.json").read_text())["tasks"]["triage"]
    assert written["current"] == "rag" and written["kind"] == "rag"  # older readers still find the id
    assert main(["registry", "--root", str(root), "list"]) == 0
    assert "(variant) rag (rag, corpus " in capsys.readouterr().out
    back = rollback("triage", root)
    assert (back.current.id, back.current.kind) == ("triage-20261101T000000Z", "adapter")
    assert load_index(root)["triage"].current.id == "triage-20261101T000000Z"


def test_a_variant_is_promoted_only_on_an_accepting_unchanged_ladder_decision(tmp_path):
    root = tmp_path / "candidates"
    with pytest.raises(NotAccepted, match="no ladder decision"):
        promote_ladder("triage", root)
    path = decided(root, tmp_path)
    assert load_ladder(path).chosen == "rag"
    (tmp_path / "train.jsonl").write_text('{"a": 2}\n')
    with pytest.raises(NotAccepted, match="corpus of rag .* changed since the ladder decided"):
        promote_ladder("triage", root)
    assert not (root / "registry.json").exists()
    path.write_text(json.dumps({**json.loads(path.read_text()), "verdict": "inconclusive", "chosen": None}))
    with pytest.raises(NotAccepted, match="is inconclusive, nothing to deploy"):
        promote_ladder("triage", root)


def test_a_prompt_only_deployment_needs_no_corpus(tmp_path):
    root = tmp_path / "candidates"
    decided(root, tmp_path, rag_wins=False)
    entry = promote_ladder("triage", root)
    assert (entry.current.id, entry.current.kind, entry.current.corpus_sha256) == ("prompt-only", "prompt", None)
    assert len(list((task_folder(root, "triage") / "ladder").glob("*.json"))) == 1


LADDER_CONFIG = """\
task: triage
model: {model}
cases: ./heldout.jsonl
decoding: {{max_new_tokens: 4}}
variants:
  prompt-only: {{kind: prompt}}
  rag: {{kind: rag, corpus: ./train.jsonl, k: 2}}
  fine-tuned: {{kind: adapter, adapter: current:triage}}
scoring: {{fields: [category]}}
gate: {{min_cases: 2, n_resamples: 200}}
"""


@pytest.fixture
def ladder_project(tmp_path, tiny_checkpoint, tiny_adapters, monkeypatch):
    from harness.fileio import sha256_file
    from tests.tiny import write_triage_file

    write_triage_file(tmp_path / "train.jsonl", 10)
    write_triage_file(tmp_path / "heldout.jsonl", 4, offset=100)
    (tmp_path / "harness.yaml").write_text(LADDER_CONFIG.format(model=tiny_checkpoint))
    candidate = tmp_path / "candidates" / "triage-1"
    shutil.copytree(tiny_adapters["a"], candidate)
    data = {"dataset": str(tmp_path / "train.jsonl"), "dataset_sha256": sha256_file(tmp_path / "train.jsonl")}
    (candidate / "manifest.json").write_text(json.dumps({"task": "triage", "data": data, "stats": {"wall_seconds": 12.5}}))
    monkeypatch.setenv("HARNESS_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("HARNESS_REGISTRY", str(tmp_path / "candidates"))
    return tmp_path, candidate


@pytest.mark.slow
def test_decide_end_to_end_on_a_tiny_model(ladder_project, capsys):
    project, candidate = ladder_project
    config, runs = str(project / "harness.yaml"), str(project / "runs")
    code = main(["decide", "--config", config, "--candidate", str(candidate), "--runs-dir", runs, "--promote"])
    out = capsys.readouterr().out
    decision = load_ladder(project / "candidates" / "decisions" / "triage" / "ladder.json")
    assert [r.variant for r in decision.rungs] == ["prompt-only", "rag", "fine-tuned"]
    assert decision.rung("fine-tuned").cost.training_s == 12.5
    assert {c.name for c in decision.rung("fine-tuned").checks} == {"held-out leakage"}
    assert {c.name for c in decision.rung("rag").checks} == {"held-out leakage"}  # its corpus is checked too
    assert decision.rung("prompt-only").eligible == "pass"  # no floors configured: nothing to fail
    chosen = decision.rung(decision.chosen or "")
    assert chosen is None or all(chosen.beats[r.variant] == "pass" for r in decision.rungs[: decision.rungs.index(chosen)])
    assert decision.inputs.adapters["fine-tuned"].candidate_adapter_sha256 and decision.inputs.corpora["rag"]
    assert f"ladder triage: {decision.verdict.upper()}" in out and decision.reasons[0] in out
    if decision.verdict == "deploy":
        assert code == 0 and deployment("triage", project / "candidates").id in (decision.chosen, "triage-1")
    else:
        assert code == 1 and not (project / "candidates" / "registry.json").exists()
    assert main(["gate", "--variant", "rag", "--config", config, "--runs-dir", runs]) in (0, 1)
    variant = json.loads((project / "candidates/decisions/triage/variants/rag/decision.json").read_text())
    assert variant["candidate"] == "rag" and [c["name"] for c in variant["checks"]][:3] == [
        "data", "judge calibration", "beats prompt-only on field_macro_f1"]
    capsys.readouterr()
    (candidate / "manifest.json").write_text(json.dumps({"task": "house_style"}))
    assert main(["decide", "--config", config, "--candidate", str(candidate)]) == 2
    assert "trained for task 'house_style', the config decides 'triage'" in capsys.readouterr().err
    assert main(["gate", "--variant", "fine-tuned", "--config", config]) == 2
    assert "gate an adapter with `harness gate CANDIDATE`" in capsys.readouterr().err


@pytest.mark.slow
def test_the_ladder_runs_the_serving_parity_check_the_gate_runs(ladder_project, capsys):
    project, candidate = ladder_project
    config = project / "harness.yaml"
    config.write_text(config.read_text().replace("gate: {min_cases: 2, n_resamples: 200}",
                                                 "gate: {min_cases: 2, n_resamples: 200, parity: {floor: 0.9}}"))
    main(["decide", "--config", str(config), "--candidate", str(candidate), "--runs-dir", str(project / "runs")])
    decision = load_ladder(project / "candidates" / "decisions" / "triage" / "ladder.json")
    parity = {c.name: c for c in decision.rung("fine-tuned").checks}["serving parity (engine vs local peft)"]
    assert parity.verdict == "pass" and "local backend, which is the peft reference" in parity.explanation
    assert not any("parity" in c.name for c in decision.rung("rag").checks)  # an adapter's check only


def test_decide_on_a_bad_config_is_an_input_error(tmp_path, capsys):
    (tmp_path / "harness.yaml").write_text("task: triage\n")
    assert main(["decide", "--config", str(tmp_path / "harness.yaml"), "--root", str(tmp_path / "c")]) == 2
    assert "Traceback" not in capsys.readouterr().err


def test_the_ladder_is_deterministic_on_the_same_results():
    results = {v: scored(v, LOW if v != "rag" else better(LOW, 40)) for v in KINDS}
    first, second = (decide_ladder("triage", results, rungs(), RULES) for _ in range(2))
    assert first.reasons == second.reasons and np.isfinite(first.rung("rag").check_vs("prompt-only").delta)


def test_an_adapter_chosen_by_the_ladder_is_promoted_only_while_its_files_are_unchanged(tmp_path):
    from harness.gate.ladder.store import hash_ladder_inputs as bind
    from harness.manifests import read_candidate_manifest
    from tests.test_registry import make_candidate

    root = tmp_path / "candidates"
    folder = make_candidate(root, "triage-1")
    manifest = read_candidate_manifest(folder)
    inputs = bind(str(root / "harness.yaml"), str(root / "heldout.jsonl"), {}, {"fine-tuned": (folder, manifest)})
    results = {v: scored(v, LOW if v != "fine-tuned" else better(LOW, 60)) for v in KINDS}
    ladder_rungs = [r for r in rungs() if r.kind != "rag"]
    ladder_rungs[-1].reference = str(folder)
    write_ladder(decide_ladder("triage", {k: v for k, v in results.items() if k != "rag"}, ladder_rungs, RULES,
                               inputs=inputs), root)
    weights = folder / "adapter_model.safetensors"
    original = weights.read_bytes()
    weights.write_bytes(original + b"!")
    with pytest.raises(NotAccepted, match="fine-tuned: adapter_model.safetensors .* changed since the gate decided"):
        promote_ladder("triage", root)
    weights.write_bytes(original)
    entry = promote_ladder("triage", root)
    assert (entry.current.id, entry.current.kind) == ("triage-1", "adapter")
    assert deployment("triage", root).decision == "decisions/triage/ladder.json"
