"""The xdist decision store and the controller's summary, without workers (the plugin test runs `-n 2`)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.errors import HarnessError, InputError
from harness.gate.decision import Decision
from harness.suite.xdist import SharedDecisions, WorkerSummary, controller_lines, shared_decisions

FIXTURE = Path(__file__).parent / "fixtures" / "decisions" / "decision_v1.json"


def never() -> Decision:
    raise AssertionError("a second worker must not compute the decision again")


def test_the_first_worker_computes_and_the_others_read(tmp_path):
    decision = Decision.from_dict(json.loads(FIXTURE.read_text()))
    first, second = SharedDecisions(tmp_path), SharedDecisions(tmp_path)
    assert first.decision("harness.yaml", lambda: decision) is decision
    read = second.decision("harness.yaml", never)
    assert read.to_dict() == decision.to_dict()
    assert (first.computed, first.read, second.computed, second.read) == ({"harness.yaml"}, set(), set(), {"harness.yaml"})


def test_a_failed_decision_fails_every_worker_with_the_same_line(tmp_path):
    def broken() -> Decision:
        raise InputError("no current adapter for task 'triage'", path="harness.yaml", line=3, code="no-candidate")

    with pytest.raises(InputError) as first:
        SharedDecisions(tmp_path).decision("harness.yaml", broken)
    with pytest.raises(HarnessError) as second:
        SharedDecisions(tmp_path).decision("harness.yaml", never)
    assert str(second.value) == str(first.value) == "harness.yaml:3: no-candidate: no current adapter for task 'triage'"


def test_outside_xdist_there_is_no_store_and_the_controller_prints_each_table_once(tmp_path):
    assert shared_decisions(None, tmp_path) is None
    assert shared_decisions({"testrunuid": "abc"}, tmp_path).folder == tmp_path.resolve() / ".xdist-abc"  # type: ignore[union-attr]
    workers = [WorkerSummary(1, {"run": ["table"]}, {"cfg": ["gate line"]}, computed=1).to_dict(),
               WorkerSummary(1, {"run": ["table"]}, {}, read=1).to_dict()]
    lines = controller_lines(workers)
    assert lines == ["harness: 2 model load(s) this session across 2 worker(s); 1 gate decision(s) computed, "
                     "1 read from another worker", "table", "gate line"]
