"""``--format json``: every verb that reports figures prints one JSON document on stdout, exit codes unchanged.

The verbs that run a model (eval, gate, decide, train) are given canned records in place of
the model run: these tests are about the output, not the run.
"""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest

from harness.cli.main import main
from harness.gate.decision import Decision, GateCheck
from harness.records import Case, CaseResult, Generation, Score
from tests.stub_openai_server import Call, Reply, completion, stub_server
from tests.synthetic_runs import planted_history, write_synthetic_run

ROOT = Path(__file__).resolve().parents[1]
TRIAGE = ROOT / "suites" / "triage"
RUBRIC = ROOT / "suites" / "house_style" / "judge" / "rubric.yaml"
LINT = Path(__file__).parent / "fixtures" / "lint"


def as_json(capsys, argv: list[str], code: int = 0) -> dict:
    """Run the CLI, check its exit code, and parse its stdout as one JSON document."""
    assert main(argv) == code
    captured = capsys.readouterr()
    return json.loads(captured.out)


def decision(verdict: str = "accepted") -> Decision:
    return Decision(verdict, [GateCheck("data", "pass", "ok", n=3)], "triage", "cand-1", "2026-01-01T00:00:00+00:00")


def test_lint(capsys):
    data = as_json(capsys, ["lint", str(LINT / "duplicate.jsonl"), "--model", "none", "--format", "json"])
    assert {"findings", "summary"} <= set(data)


def test_split(write_jsonl, make_chat, tmp_path, capsys):
    clean = write_jsonl("clean.jsonl", [make_chat(f"What is {i} times three?", f"{3 * i}.") for i in range(40)])
    data = as_json(capsys, ["split", str(clean), "--eval-split", "0.1", "--out", str(tmp_path / "out"), "--format", "json"])
    assert set(data) == {"train", "heldout", "manifest", "split"}
    assert data["split"]["counts"]["total"] == 40


def test_models_list(capsys):
    data = as_json(capsys, ["models", "list", "--format", "json"])
    assert set(data) == {"cache", "models"} and {"alias", "state", "status", "description"} <= set(data["models"][0])


def test_history_import_and_report(tmp_path, capsys):
    paths = planted_history(tmp_path)
    store = tmp_path / "history.sqlite"
    data = as_json(capsys, ["history", "import", str(paths["runs"]), str(paths["candidates"]), "--store", str(store),
                            "--format", "json"])
    assert set(data) == {"store", "indexed", "unchanged", "skipped"} and len(data["indexed"]) == 6
    argv = ["report", "--store", str(store), "--out", str(tmp_path / "report"), "--format", "json"]
    data = as_json(capsys, argv)
    assert {"html", "markdown", "tasks", "regressions"} <= set(data)
    assert data["regressions"] and {"task", "variant", "metric", "before", "after"} <= set(data["regressions"][0])
    assert as_json(capsys, [*argv, "--fail-on-regression"], code=1)["regressions"]


def test_registry_list_and_show(tmp_path, capsys):
    from tests.test_registry import make_candidate

    make_candidate(tmp_path, "c1", verdict="accepted")
    make_candidate(tmp_path, "c2")
    assert main(["registry", "--root", str(tmp_path), "promote", "c1"]) == 0
    capsys.readouterr()
    data = as_json(capsys, ["registry", "--root", str(tmp_path), "list", "--format", "json"])
    assert set(data) == {"root", "candidates", "deployments"}
    assert {c["id"]: c["current_for"] for c in data["candidates"]} == {"c1": "triage", "c2": None}
    assert data["deployments"]["triage"]["current"]["id"] == "c1"
    data = as_json(capsys, ["registry", "--root", str(tmp_path), "show", "c1", "--format", "json"])
    assert set(data) == {"manifest", "decision"} and data["decision"]["verdict"] == "accepted"
    assert as_json(capsys, ["registry", "--root", str(tmp_path), "show", "c2", "--format", "json"])["decision"] is None


def test_eval(tmp_path, monkeypatch, capsys):
    from harness.eval import runner

    case = Case("c1", "triage", ({"role": "user", "content": "hi"},), "ok")
    results = [CaseResult(case, Generation("c1", variant, text="ok"), [Score("exact_match", 1.0)])
               for variant in ("prompt-only", "rag")]
    results.append(CaseResult(case, Generation("c1", "broken", error="boom"), []))
    run = runner.Run(tmp_path / "runs" / "r1", results, SimpleNamespace(run_id="r1"))
    monkeypatch.setattr(runner, "run_eval", lambda config, options: run)
    data = as_json(capsys, ["eval", "--config", str(TRIAGE / "harness.yaml"), "--format", "json"], code=1)
    assert set(data) == {"run", "run_id", "summary", "failed_variants"} and data["failed_variants"] == ["broken"]
    assert data["run_id"] == "r1"
    assert [row["variant"] for row in data["summary"]] == ["prompt-only", "rag", "broken"]
    assert data["summary"][0]["exact_match"] == 1.0


@pytest.mark.parametrize("verdict, code", [("accepted", 0), ("rejected", 1)])
def test_gate(tmp_path, monkeypatch, capsys, verdict, code):
    from harness.gate import run as gate_run

    monkeypatch.setattr(gate_run, "run_gate", lambda candidate, config, options: decision(verdict))
    data = as_json(capsys, ["gate", str(tmp_path), "--format", "json"], code=code)
    assert set(data) == {"decision", "promoted"} and data["decision"]["verdict"] == verdict
    assert data["decision"]["checks"][0]["name"] == "data"


def test_decide(tmp_path, monkeypatch, capsys):
    from harness.gate.ladder import run as ladder_run
    from harness.gate.ladder.record import LadderDecision

    ladder = LadderDecision("inconclusive", "triage", None, None, [], ["no rung is eligible"], [], "2026-01-01T00:00:00")
    monkeypatch.setattr(ladder_run, "run_ladder", lambda config, options, candidate: ladder)
    argv = ["decide", "--root", str(tmp_path / "reg"), "--runs-dir", str(tmp_path / "runs"), "--format", "json"]
    data = as_json(capsys, argv, code=1)
    assert set(data) == {"decision", "decision_file", "promoted"}
    assert data["decision"]["verdict"] == "inconclusive" and Path(data["decision_file"]).is_file()


def test_train(tmp_path, monkeypatch, capsys):
    import harness.training

    monkeypatch.setattr(harness.training, "load_config", lambda path, overrides: object())
    monkeypatch.setattr(harness.training, "train_candidate", lambda config: tmp_path / "candidates" / "c1")
    data = as_json(capsys, ["train", str(TRIAGE / "lora.yaml"), "--format", "json"])
    assert data == {"candidate": str(tmp_path / "candidates" / "c1"), "rejected": None, "findings": [], "decision": None}


def _scripted(call: Call) -> Reply:
    return Reply(body=completion("Score: 4\nReason: fine."))


def test_judge_run_and_score(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("OPENAI_API_KEY", "test")
    run = write_synthetic_run(tmp_path / "runs", "t", "2026-03-01T00:00:00+00:00", {"p": [[1], [0]]})
    replies = tmp_path / "replies.jsonl"
    replies.write_text("".join(json.dumps({"id": i, "input": "q", "output": f"reply {i}"}) + "\n" for i in "ab"))
    with stub_server(_scripted) as (base_url, _):
        judge = ["--rubric", str(RUBRIC), "--base-url", base_url, "--model", "stub", "--no-cache", "--format", "json"]
        data = as_json(capsys, ["judge", "run", str(run), *judge])
        assert {"judge_identity", "n", "unscored", "per_variant"} <= set(data) and data["n"] == 2
        data = as_json(capsys, ["judge", "score", str(replies), "--out", str(tmp_path / "scores.jsonl"), *judge])
    assert {"items", "unscored", "judge_identity", "out"} <= set(data) and data["items"] == 2 and data["unscored"] == 0


def test_init(tmp_path, monkeypatch, capsys):
    from tests.tiny import write_triage_file

    monkeypatch.chdir(tmp_path)
    write_triage_file(tmp_path / "tickets.jsonl", 40)
    data = as_json(capsys, ["init", "--data", "tickets.jsonl", "--task", "tickets", "--format", "json"])
    assert {"folder", "files", "train", "heldout", "fields"} <= set(data) and data["train"] + data["heldout"] == 40


def test_harvest(write_jsonl, tmp_path, capsys):
    train = TRIAGE / "data" / "split" / "train.jsonl"
    rows = [{"messages": [{"role": "user", "content": f"The board {i} will not load after the update"},
                          {"role": "assistant", "content": "not json"}]} for i in range(6)]
    logs = write_jsonl("logs.jsonl", rows)
    data = as_json(capsys, ["harvest", str(logs), "--reference", str(train), "--out", str(tmp_path / "q.jsonl"),
                            "--format", "json"])
    assert {"queue", "queued", "by_reason", "records", "malformed"} <= set(data) and data["records"] == 6


def test_the_shared_options_are_declared_alike():
    from harness.cli.main import build_parser

    parser = build_parser()
    for argv in (["eval"], ["gate", "c"], ["decide"]):
        assert parser.parse_args([*argv, "--no-cache"]).cache_mode == "off"
        assert parser.parse_args([*argv, "--refresh"]).cache_mode == "refresh"
        assert parser.parse_args(argv).cache_mode == "use" and parser.parse_args(argv).config == "harness.yaml"
    judge = ["judge", "run", "r", "--rubric", "x"]
    assert parser.parse_args([*judge, "--no-cache"]).cache_mode == "off"
    with pytest.raises(SystemExit):
        parser.parse_args([*judge, "--refresh"])
