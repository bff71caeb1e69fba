"""`harness report`: planted regression vs wiggle, case labels, sections, exit codes."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from harness.reports import build_report, write_report

from harness.cli.main import main
from harness.history import import_paths
from tests.synthetic_runs import make_case, planted_history


@pytest.fixture
def store(tmp_path) -> Path:
    paths = planted_history(tmp_path)
    summary = import_paths([paths["runs"], paths["candidates"]], tmp_path / "history.sqlite")
    assert not summary.skipped and len(summary.indexed) == 6
    return tmp_path / "history.sqlite"


def ids(task: str, indexes) -> set[str]:
    return {make_case(task, i).id for i in indexes}


def test_flags_exactly_the_regression_not_the_wiggle(store, tmp_path):
    report = build_report(store, tmp_path / "out")
    flagged = {(t.task, c.variant, c.metric, c.test) for t in report.tasks for c in t.regressions}
    assert flagged == {("triage", "fine-tuned", "answer_correct", "exact McNemar")}
    facts = next(t for t in report.tasks if t.task == "facts")
    wiggle = next(r for r in facts.table if r.metric == "answer_correct")
    assert wiggle.since_previous is not None and wiggle.since_previous.delta == pytest.approx(-0.2)
    assert wiggle.since_previous.p_value is not None and wiggle.since_previous.p_value > 0.05
    triage = next(t for t in report.tasks if t.task == "triage")
    assert triage.regressions[0].delta == pytest.approx(-0.2) and triage.regressions[0].p_value < 1e-6


def test_labels_each_case(store, tmp_path):
    triage = next(t for t in build_report(store, tmp_path / "out").tasks if t.task == "triage")
    labelled = {label: {(c.variant, c.case_id) for c in items} for label, items in triage.cases.items()}
    assert triage.case_counts == {"newly failing": 31, "newly fixed": 1, "still failing": 9, "flaky": 2}
    assert {c for v, c in labelled["newly fixed"]} == ids("triage", [149])
    assert {c for v, c in labelled["flaky"]} == ids("triage", [0, 1])
    assert {v for v, _ in labelled["flaky"]} == {"prompt-only"}
    assert {c for v, c in labelled["still failing"]} == ids("triage", range(140, 149))
    failing = triage.cases["newly failing"]
    assert len(failing) == 25 and {c.case_id for c in failing} <= ids("triage", range(31))  # 25 shown of 31
    shown = failing[0]
    assert shown.input.startswith("ticket ") and shown.expected and shown.got == '{"category": "other"}'
    assert shown.failing_metrics == ["answer_correct"] and shown.run_link.endswith("results.jsonl")


def test_sections_accepted_run_markers_decisions_and_answer(store, tmp_path):
    report = build_report(store, tmp_path / "out")
    triage = next(t for t in report.tasks if t.task == "triage")
    assert triage.accepted is not None and triage.accepted.candidate == "cand-a"
    row = next(r for r in triage.table if r.variant == "fine-tuned" and r.metric == "answer_correct")
    assert row.since_accepted == pytest.approx(-0.2) and row.n == 150 and row.low < row.value < row.high
    assert [m.label for m in triage.markers] == ["adapter(fine-tuned)"]
    assert len(triage.trends) == 1 and triage.trends[0].svg.startswith("<svg")
    assert {d.verdict for d in report.decisions} == {"accepted", "rejected"}
    rejected = next(d for d in report.decisions if d.verdict == "rejected")
    assert rejected.checks[0].verdict == "fail" and "delta" in rejected.checks[0].detail
    winner = next(w for w in triage.winners if w.metric == "answer_correct")
    assert winner.winner == "prompt-only" and winner.test is not None and winner.test.improvement
    assert {c.variant: c.training_s for c in triage.costs} == {"prompt-only": None, "fine-tuned": None}


def test_page_is_self_contained(store, tmp_path):
    html, markdown = write_report(build_report(store, tmp_path / "out"), tmp_path / "out")
    page = html.read_text()
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page) and "<script" not in page and "<link" not in page
    assert page.count("<svg") == 2 and "1 regression beyond noise" in page
    assert "fine-tuned · answer_correct" in markdown.read_text()


def test_cli_exit_codes(store, tmp_path, capsys):
    out = str(tmp_path / "out")
    assert main(["report", "--store", str(store), "--out", out]) == 0
    assert main(["report", "--store", str(store), "--out", out, "--fail-on-regression"]) == 1
    assert main(["report", "--store", str(store), "--out", out, "--task", "facts", "--fail-on-regression"]) == 0
    assert main(["report", "--store", str(store), "--out", out, "--last", "1", "--fail-on-regression"]) == 0
    capsys.readouterr()
    for args, code in ([["--task", "nope"], "unknown-task"], [["--since", "2027-01-01"], "no-runs"],
                       [["--since", "yesterday"], "bad-date"], [["--last", "0"], "bad-argument"]):
        assert main(["report", "--store", str(store), "--out", out, *args]) == 2
        err = capsys.readouterr().err
        assert code in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_missing_or_unreadable_store_is_exit_2(tmp_path, capsys):
    assert main(["report", "--store", str(tmp_path / "none.sqlite"), "--out", str(tmp_path / "o")]) == 2
    assert "no-history" in capsys.readouterr().err
    garbage = tmp_path / "garbage.sqlite"
    garbage.write_bytes(b"not a database" * 100)
    assert main(["report", "--store", str(garbage), "--out", str(tmp_path / "o")]) == 2
    assert "history-unreadable" in capsys.readouterr().err


def test_runs_of_another_eval_config_are_not_the_previous_run(tmp_path):
    """The gate's general runs for two tasks' candidates: each compared with its own config's runs, not the other's."""
    from tests.synthetic_runs import write_synthetic_run

    runs = tmp_path / "runs"
    good, bad = [[1.0]] * 60, [[1.0]] * 30 + [[0.0]] * 30
    write_synthetic_run(runs, "general", "2026-03-01T02:00:00+00:00", {"base": good, "fine-tuned": bad},
                        metric="general_pass", adapter="triage-candidate", config="triage-config")
    write_synthetic_run(runs, "general", "2026-03-01T02:05:00+00:00", {"base": good, "fine-tuned": good},
                        metric="general_pass", adapter="style-candidate", config="style-config")
    write_synthetic_run(runs, "general", "2026-03-01T02:10:00+00:00", {"base": good, "fine-tuned": bad},
                        metric="general_pass", adapter="triage-candidate", config="triage-config")
    import_paths([runs], tmp_path / "history.sqlite")
    general = next(t for t in build_report(tmp_path / "history.sqlite", tmp_path / "out").tasks if t.task == "general")
    assert general.previous is not None and general.previous.run_id == "20260301T020000-general"
    assert general.regressions == []
    row = next(r for r in general.table if r.variant == "fine-tuned")
    assert row.since_previous is not None and row.since_previous.delta == 0
