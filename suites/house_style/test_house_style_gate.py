"""The deploy gate of the house-style adapter: tone (tone_joint) against the prompt-only baseline, the rules as a floor."""

import pytest

pytestmark = [pytest.mark.harness_suite("house_style", version="1"), pytest.mark.slow]


def test_held_out_set_does_not_leak_into_training(harness_gate):
    harness_gate.require("held-out leakage")


def test_enough_paired_cases_and_no_generation_errors(harness_gate):
    harness_gate.require("data")


def test_keeps_the_style_rules(harness_gate):
    """The rules of style.yaml are a floor: no worse than the style guide written into the prompt."""
    harness_gate.require("style_pass floor")


def test_house_style_beats_prompt_only(harness_gate):
    """The chatbot register of the base model vs the adapter's house voice, on tone_joint: the seed's opening example."""
    harness_gate.require("beats prompt-only")


def test_no_general_capability_regression(harness_gate):
    harness_gate.require("general capability")


def test_no_forgetting_on_general_text(harness_gate):
    harness_gate.require("forgetting")
