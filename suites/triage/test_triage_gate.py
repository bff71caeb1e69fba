"""The deploy gate of the triage adapter: the seed's checklist, one test per rule.

    pytest suites/ [--candidate candidates/<id>]   # default: the task's current adapter
"""

import pytest

pytestmark = [pytest.mark.harness_suite("triage", version="1"), pytest.mark.slow]


def test_held_out_set_does_not_leak_into_training(harness_gate):
    harness_gate.require("held-out leakage")


def test_enough_paired_cases_and_no_generation_errors(harness_gate):
    harness_gate.require("data")


def test_schema_validity_reaches_the_floor(harness_gate):
    harness_gate.require("schema_valid floor")


def test_candidate_beats_prompt_only(harness_gate):
    """No win over the prompt-only baseline, no deploy (paired, with the configured margin)."""
    harness_gate.require("beats prompt-only")


def test_candidate_beats_rag_on_the_routing_task(harness_gate):
    """RAG over labelled examples is the cheap baseline a fine-tune must beat on a routing task."""
    harness_gate.require("beats rag")


def test_no_field_is_traded_away_against_prompt_only(harness_gate):
    """Structured output: winning the mean macro-F1 while losing needs_human is no win (gate.field_margin)."""
    harness_gate.require("fields no worse than prompt-only")


def test_no_field_is_traded_away_against_rag(harness_gate):
    harness_gate.require("fields no worse than rag")


def test_no_general_capability_regression(harness_gate):
    harness_gate.require("general capability")


def test_no_forgetting_on_general_text(harness_gate):
    harness_gate.require("forgetting")


def test_judge_metrics_count_only_when_calibrated(harness_gate):
    harness_gate.require("judge calibration")
