"""The history store: idempotent import, corrupt folders skipped whole, decisions of any version, figures."""

from __future__ import annotations

import dataclasses
import sqlite3

import pytest
from harness.reports import build_report

from harness.cli.main import main
from harness.history import CorruptArtifact, Figure, connect, import_paths, index_decision, index_run, read_run, write_figures
from harness.history.store import write_run
from tests.synthetic_runs import planted_history, write_synthetic_run

TABLES = ("runs", "variants", "metrics", "cases", "outputs", "scores", "decisions", "figures")


def counts(store) -> dict[str, int]:
    conn = sqlite3.connect(store)
    try:
        return {t: conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in TABLES}
    finally:
        conn.close()


def test_import_is_idempotent(tmp_path):
    paths = planted_history(tmp_path)
    store = tmp_path / "h.sqlite"
    first = import_paths([paths["runs"], paths["candidates"]], store)
    before = counts(store)
    second = import_paths([paths["runs"], paths["candidates"]], store)
    assert len(first.indexed) == 6 and second.indexed == [] and len(second.unchanged) == 6
    assert counts(store) == before and before["runs"] == 4 and before["decisions"] == 2
    assert before["scores"] == 150 * 2 + 151 + 150 + 10 + 10  # one prompt-only case has two repeats
    assert connect(store).execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_changed_run_is_reindexed_not_duplicated(tmp_path):
    run = write_synthetic_run(tmp_path / "runs", "t", "2026-03-01T00:00:00+00:00", {"p": [[1], [0]]}, metric="answer_correct")
    store = tmp_path / "h.sqlite"
    assert index_run(run, store) is True and index_run(run, store) is False
    (run / "results.jsonl").write_text((run / "results.jsonl").read_text().replace('"value": 0.0', '"value": 1.0'))
    assert index_run(run, store) is True
    value = connect(store).execute("SELECT value FROM metrics WHERE metric = 'answer_correct'").fetchone()[0]
    assert value == 1.0 and counts(store)["runs"] == 1 and counts(store)["scores"] == 2


def test_corrupt_and_half_written_runs_are_skipped_by_path(tmp_path, capsys):
    runs = tmp_path / "runs"
    good = write_synthetic_run(runs, "t", "2026-03-01T00:00:00+00:00", {"p": [[1]] * 5}, metric="answer_correct")
    truncated = write_synthetic_run(runs, "t", "2026-03-02T00:00:00+00:00", {"p": [[1]] * 5}, metric="answer_correct")
    text = (truncated / "results.jsonl").read_text()
    (truncated / "results.jsonl").write_text(text[: len(text) - 40])  # a copy cut off mid-line
    no_manifest = runs / "no-manifest"
    no_manifest.mkdir()
    (no_manifest / "results.jsonl").write_text((good / "results.jsonl").read_text())
    (runs / ".20260303-t-abc.partial").mkdir()
    store = tmp_path / "h.sqlite"
    assert main(["history", "import", str(runs), "--store", str(store)]) == 0
    err = capsys.readouterr().err
    assert f"{truncated}/results.jsonl:5: corrupt-artifact" in err
    assert f"{no_manifest}/manifest.json: corrupt-artifact" in err and ".20260303-t-abc.partial: half-written" in err
    assert counts(store)["runs"] == 1 and counts(store)["scores"] == 5


def test_a_failing_insert_leaves_nothing_of_the_run(tmp_path):
    run = read_run(write_synthetic_run(tmp_path / "runs", "t", "2026-03-01T00:00:00+00:00", {"p": [[1], [0]]}))
    broken = dataclasses.replace(run, outputs=run.outputs + run.outputs[:1])  # duplicate primary key half-way
    conn = connect(tmp_path / "h.sqlite")
    with pytest.raises(sqlite3.IntegrityError):
        write_run(conn, broken)
    conn.close()
    assert all(n == 0 for n in counts(tmp_path / "h.sqlite").values())


def test_decisions_with_and_without_schema_version(tmp_path):
    paths = planted_history(tmp_path)
    store = tmp_path / "h.sqlite"
    for name in ("cand-a", "cand-b"):
        assert index_decision(paths["candidates"] / name / "decision.json", store)
    rows = connect(store).execute("SELECT candidate, verdict, schema_version, training_s, run_id, checks FROM decisions"
                                  " ORDER BY candidate").fetchall()
    assert [r[:5] for r in rows] == [("cand-a", "accepted", None, 321.0, paths["first"].name),
                                     ("cand-b", "rejected", 1, 321.0, paths["second"].name)]
    assert all("delta" in r[5] for r in rows)  # `explanation` (unversioned) and `detail` (versioned) both read
    bad = tmp_path / "bad" / "decision.json"
    bad.parent.mkdir()
    bad.write_text('{"kind": "harness-decision"}')
    assert import_paths([tmp_path / "bad"], store).skipped[0].startswith(f"{bad}: corrupt-artifact")


def test_figures_extension_point_reaches_the_report(tmp_path):
    paths = planted_history(tmp_path)
    store = tmp_path / "h.sqlite"
    import_paths([paths["runs"]], store)
    figures = [Figure("judge", "agreement", f"2026-03-0{d}T04:00:00+00:00", "triage", "judge:helpfulness/kappa", 0.6 + d / 20,
                      0.5, 0.9, 80) for d in (1, 2)]
    conn = connect(store)
    assert write_figures(conn, figures) == 2 and write_figures(conn, figures) == 2
    conn.close()
    assert counts(store)["figures"] == 2
    triage = next(t for t in build_report(store, tmp_path / "out").tasks if t.task == "triage")
    assert [t.metric for t in triage.extra_trends] == ["judge:helpfulness/kappa"]


def test_newer_schema_is_refused(tmp_path):
    store = tmp_path / "h.sqlite"
    connect(store).execute("PRAGMA user_version = 99")
    assert main(["report", "--store", str(store)]) == 2


def test_hooks_quiet_and_off(tmp_path, monkeypatch, caplog):
    run = write_synthetic_run(tmp_path / "runs", "t", "2026-03-01T00:00:00+00:00", {"p": [[1]]})
    (run / "results.jsonl").write_text("{")
    assert index_run(run, tmp_path / "h.sqlite", quiet=True) is False
    assert "not indexed" in caplog.text and "corrupt-artifact" in caplog.text
    with pytest.raises(CorruptArtifact):
        index_run(run, tmp_path / "h.sqlite")
    monkeypatch.setenv("HARNESS_HISTORY", "off")
    monkeypatch.chdir(tmp_path)
    assert index_decision(tmp_path / "missing.json") is False and not (tmp_path / ".harness").exists()


REAL_CONFIG = """\
task: triage
model: {model}
backend: {{kind: local, batch_size: 4}}
cases: ./heldout.jsonl
decoding: {{max_new_tokens: 4}}
variants:
  prompt-only: {{kind: prompt, system: "Reply with JSON."}}
scoring: {{fields: [category]}}
"""


@pytest.mark.slow
def test_a_real_run_from_the_runner_is_indexed_by_its_case_ids(tmp_path, tiny_checkpoint):
    from harness.config.eval_config import load_eval_config
    from harness.eval.cases import load_cases
    from harness.eval.runner import EvalOptions, run_eval
    from tests.tiny import write_triage_file

    write_triage_file(tmp_path / "heldout.jsonl", 6)
    (tmp_path / "harness.yaml").write_text(REAL_CONFIG.format(model=tiny_checkpoint))
    config = load_eval_config(tmp_path / "harness.yaml")
    run = run_eval(config, EvalOptions(runs_dir=tmp_path / "runs", cache_path=tmp_path / "c.sqlite", progress=False))
    assert index_run(run.path, tmp_path / "h.sqlite") is True
    conn = connect(tmp_path / "h.sqlite")
    assert {r[0] for r in conn.execute("SELECT case_id FROM cases")} == {c.id for c in load_cases(config.cases, "triage")}
    metrics = {r[0]: r[1] for r in conn.execute("SELECT metric, n FROM metrics WHERE variant = 'prompt-only'")}
    assert metrics["field:category"] == 6 and "field_macro_f1" in metrics and "latency_p50_s" in metrics
    row = conn.execute("SELECT task, model_sha256, data_sha256, config_sha256 FROM runs").fetchone()
    assert row[0] == "triage" and all(row[1:])


def test_import_of_a_missing_folder_is_exit_2(tmp_path, capsys):
    assert main(["history", "import", str(tmp_path / "nope"), "--store", str(tmp_path / "h.sqlite")]) == 2
    assert "not-a-folder" in capsys.readouterr().err and not (tmp_path / "h.sqlite").exists()
