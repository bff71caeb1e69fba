"""The run and candidate manifests as typed records: round trips, older files, damage, kinds told apart."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.errors import CorruptArtifact, InputError
from harness.gate.decision import Decision, VariantSummary
from harness.manifests import (
    AdapterInfo,
    BackendInfo,
    BaseModelInfo,
    CandidateManifest,
    CasesInfo,
    Environment,
    EpochLoss,
    GitState,
    RunManifest,
    RunVariant,
    TrainingData,
    TrainingStats,
    read_candidate_manifest,
    read_manifest,
    read_run_manifest,
)
from tests.synthetic_runs import write_decision, write_synthetic_run

FIXTURES = Path(__file__).parent / "fixtures"


def run_manifest() -> RunManifest:
    return RunManifest(
        run_id="20260301-020000-triage-abc123", created_at="2026-03-01T02:00:00+00:00", task="triage",
        config="harness.yaml", config_sha256="c" * 64, cases=CasesInfo("heldout.jsonl", "d" * 64, 150, None),
        split_sha256=None, backend=BackendInfo("local", {"spec": "tiny", "weights_sha256": {"model.safetensors": "e"}}),
        variants={"prompt-only": RunVariant("prompt", "s1", None),
                  "fine-tuned": RunVariant("adapter", "s2", {"path": "/c/a", "sha256": "a" * 64, "config_sha256": "b"})},
        decoding={"max_new_tokens": 8, "temperature": 0.0}, repeats=2, cache_mode="use",
        environment=Environment(GitState("abc", False), {"python": "3.11.9", "packages": {"torch": "2.5"}}),
        extra={"note": "kept"})


def candidate_manifest() -> CandidateManifest:
    return CandidateManifest(
        id="triage-20260301-020000-abcdef", created_at="2026-03-01T02:00:00+00:00", task="triage",
        base_model=BaseModelInfo("tiny", "local", {"path": "/m", "weights_sha256": {"model.safetensors": "f"}}),
        adapter=AdapterInfo("a" * 64, 8, 16, ["q_proj", "v_proj"]),
        data=TrainingData("train.jsonl", "d" * 64, {"replay_examples": 0, "validation": {"eval_split": 0.1}}),
        split_manifest={"seed": 3}, chat_template_sha256="t" * 64, seed=3,
        epochs=(EpochLoss(1, 1.25, 1.5), EpochLoss(2, None, 1.2)), best_epoch=2,
        stats=TrainingStats(321.5, {"world_size": 1, "precision": "bf16"}),
        environment=Environment(GitState(None, None), {"python": "3.11.9"}))


def holds(written: object, original: object) -> bool:
    """``written`` has every key of ``original`` (recursively) with the same value."""
    if isinstance(original, dict):
        return isinstance(written, dict) and all(k in written and holds(written[k], v) for k, v in original.items())
    return written == original


def write(path: Path, data: object) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, sort_keys=True))
    return path


@pytest.mark.parametrize("make, read", [(run_manifest, read_run_manifest), (candidate_manifest, read_candidate_manifest),
                                        (run_manifest, read_manifest), (candidate_manifest, read_manifest)])
def test_a_manifest_reads_back_as_it_was_written(make, read, tmp_path):
    manifest = make()
    path = write(tmp_path / "m" / "manifest.json", manifest.to_dict())
    again = read(path)
    assert again == manifest and again.to_dict() == manifest.to_dict()
    assert read(path.parent) == manifest  # the folder is taken for its manifest
    assert manifest.to_dict()["schema_version"] == 1 and manifest.to_dict()["kind"] == manifest.kind


def test_a_run_manifest_written_before_schema_version_loads_as_version_1(tmp_path):
    run = write_synthetic_run(tmp_path / "runs", "t", "2026-03-01T00:00:00+00:00", {"fine-tuned": [[1]], "p": [[0]]})
    original = json.loads((run / "manifest.json").read_text())
    assert "schema_version" not in original and "cache_mode" not in original
    manifest = read_run_manifest(run / "manifest.json")
    assert manifest.schema_version == 1 and manifest.cache_mode is None and manifest.cases.limit is None
    assert manifest.variants["fine-tuned"].adapter_sha256 == "adapter-a" and manifest.variants["p"].adapter_sha256 is None
    assert manifest.environment and manifest.environment.git == GitState("abc123", False)
    assert holds(manifest.to_dict(), original)  # nothing is lost or changed (absent optional keys are written as null)


def test_the_minimal_candidate_manifest_of_the_synthetic_history_loads(tmp_path):
    write_decision(tmp_path / "cand", "triage", "accepted", "2026-03-01T03:00:00+00:00", None, versioned=False)
    manifest = read_candidate_manifest(tmp_path / "cand")
    assert manifest.schema_version == 1 and manifest.kind == "harness-candidate"
    assert manifest.wall_seconds == 321.0 and manifest.task is None and manifest.data is None and manifest.epochs == ()


def test_a_candidate_manifest_without_kind_or_optional_keys_loads(tmp_path):
    path = write(tmp_path / "c" / "manifest.json", {"task": "triage", "data": {"dataset": "train.jsonl"}})
    manifest = read_candidate_manifest(path)
    assert manifest.task == "triage" and manifest.data == TrainingData("train.jsonl", None, {})
    assert manifest.stats is None and manifest.wall_seconds is None and manifest.base_model is None


@pytest.mark.parametrize("text, why", [
    ("{not json", "unreadable manifest"),
    ("[]", "not a JSON object"),
    ('{"task": ["triage"]}', "names no task"),
    ('{"task": "t", "stats": [321]}', "`stats` is not a JSON object"),
    ('{"task": "t", "stats": {"wall_seconds": "long"}}', "`stats.wall_seconds` is not a number"),
    ('{"task": "t", "epochs": [{"eval_loss": 1.0}]}', "`epochs[0].epoch` is missing"),
    ('{"kind": "harness-run", "task": "t"}', "not a candidate's manifest"),
])
def test_a_damaged_candidate_manifest_is_one_line_naming_its_path(text, why, tmp_path):
    path = tmp_path / "c" / "manifest.json"
    path.parent.mkdir()
    path.write_text(text)
    with pytest.raises(CorruptArtifact) as caught:
        read_candidate_manifest(path.parent)
    message = str(caught.value)
    assert isinstance(caught.value, InputError) and "\n" not in message
    assert message.startswith(f"{path}: bad-manifest: ") and why in message


@pytest.mark.parametrize("text, why", [
    (None, "manifest.json missing"),
    ('{"kind": "harness-run", "run_id": "r", "task": "t"', "unreadable manifest"),
    ('{"kind": "harness-run", "task": "t"}', "manifest lacks run_id, created_at"),
    ('{"run_id": "r", "task": "t", "created_at": "x", "repeats": "2"}', "`repeats` is not an integer"),
    ('{"run_id": "r", "task": "t", "created_at": "x", "variants": {"v": 3}}', "`variants.v` is not a JSON object"),
    ('{"kind": "harness-candidate"}', "not a run's manifest"),
])
def test_a_damaged_run_manifest_is_one_line_naming_its_path(text, why, tmp_path):
    path = tmp_path / "r" / "manifest.json"
    path.parent.mkdir()
    if text is not None:
        path.write_text(text)
    with pytest.raises(CorruptArtifact) as caught:
        read_run_manifest(path)
    message = str(caught.value)
    assert "\n" not in message and message.startswith(f"{path}: corrupt-artifact: ") and why in message


def test_a_candidate_and_a_run_are_told_apart_by_kind_not_by_text(tmp_path):
    run = run_manifest().to_dict() | {"config": "harness-candidate", "task": "harness-candidate"}
    candidate = candidate_manifest().to_dict() | {"id": "harness-run", "task": "harness-run"}
    assert isinstance(read_manifest(write(tmp_path / "r" / "manifest.json", run)), RunManifest)
    assert isinstance(read_manifest(write(tmp_path / "c" / "manifest.json", candidate)), CandidateManifest)
    with pytest.raises(CorruptArtifact, match="bad-manifest: `stats` is not a JSON object"):
        read_manifest(write(tmp_path / "d" / "manifest.json", {"kind": "harness-candidate", "stats": 1}).parent)
    path = write(tmp_path / "x" / "manifest.json", {"kind": "harness-decision"})
    with pytest.raises(CorruptArtifact, match="corrupt-artifact: neither a run's nor a candidate's"):
        read_manifest(path)


def test_history_import_indexes_a_run_whose_manifest_mentions_the_candidate_kind(tmp_path):
    from harness.history import connect, import_paths

    run = write_synthetic_run(tmp_path / "runs", "t", "2026-03-01T00:00:00+00:00", {"p": [[1]]})
    manifest = json.loads((run / "manifest.json").read_text())
    write(run / "manifest.json", manifest | {"config": "harness-candidate"})  # the text a substring test looked for
    write_decision(tmp_path / "runs" / "cand", "t", "accepted", "2026-03-02T00:00:00+00:00", run, versioned=True)
    store = tmp_path / "h.sqlite"
    summary = import_paths([tmp_path / "runs"], store)
    assert summary.skipped == [] and len(summary.indexed) == 2  # the run and the decision; the candidate is no run
    conn = connect(store)
    assert conn.execute("SELECT run_id FROM runs").fetchall() == [(run.name,)]
    assert conn.execute("SELECT training_s FROM decisions").fetchall() == [(321.0,)]


def test_decision_variants_are_typed_and_older_decisions_load():
    data = json.loads((FIXTURES / "decisions" / "decision_v1.json").read_text())
    decision = Decision.from_dict(data)
    entry = decision.variants["fine-tuned"]
    assert isinstance(entry, VariantSummary) and entry.cost["errors"] == 0 and entry.fields["field_macro_f1"] == 0.0
    assert decision.to_dict()["variants"] == data["variants"]
    assert VariantSummary.from_dict({"cost": {"errors": 1}}) == VariantSummary({}, {}, {"errors": 1})
