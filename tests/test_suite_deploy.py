"""`pytest suites/` tests each task's current deployment, whatever its rung, or a given candidate."""

from __future__ import annotations

import pytest

from tests.test_plugin import suite  # noqa: F401 - the pytester suite fixture

pytestmark = pytest.mark.slow

pytest_plugins = ["pytester"]

GATE_TESTS = """
def test_data(harness_gate):
    harness_gate.require("data")
def test_beats(harness_gate):
    harness_gate.require("beats prompt-only")
"""


def test_a_prompt_only_deployment_is_tested_by_default(suite):  # noqa: F811
    from harness.cli.main import main

    suite.makepyfile(test_gate=GATE_TESTS)
    config = str(suite.path / "harness.yaml")
    assert main(["decide", "--config", config, "--runs-dir", str(suite.path / "runs"), "--promote"]) == 0
    result = suite.runpytest("-p", "no:cacheprovider", "-rs")
    result.assert_outcomes(passed=1, skipped=1)
    result.stdout.fnmatch_lines(["*gate triage (prompt-only): ACCEPTED*",
                                 "*beats prompt-only: does not apply to the prompt variant prompt-only*"])
    assert (suite.path / "candidates" / "decisions" / "triage" / "variants" / "prompt-only" / "decision.json").exists()


def test_a_variant_given_with_candidate_is_tested(suite):  # noqa: F811
    suite.makepyfile(test_gate=GATE_TESTS)
    result = suite.runpytest("-p", "no:cacheprovider", "--candidate", "triage=prompt-only")
    result.assert_outcomes(passed=1, skipped=1)


@pytest.mark.parametrize("tests", [1, 2])
def test_no_deployment_fails_closed_once_with_one_line_saying_how_to_make_one(suite, tests):  # noqa: F811
    """Deployment required: the first gate test fails (the suite's exit is 1); the others skip, pointing to it."""
    suite.makepyfile(test_gate=GATE_TESTS if tests == 2 else GATE_TESTS.split("def test_beats")[0])
    result = suite.runpytest("-p", "no:cacheprovider", "-rs")
    result.assert_outcomes(failed=1, skipped=tests - 1)
    assert result.ret == 1
    out = result.stdout.str()
    lines = [line for line in out.splitlines() if line.startswith("no-deployment: task 'triage' has no deployment in ")]
    assert "Traceback" not in out and "During handling" not in out and len(lines) == 1
    assert all(line.endswith("harness.yaml --promote`") and "run `harness decide --config " in line for line in lines)
    section = out.split("_ test_data _")[1].splitlines()[1:]
    failure = section[: next(i for i, line in enumerate(section) if line.startswith(("_", "=", "harness: ")))]
    assert failure == lines[:1]  # the whole failure is that one line
    if tests == 2:
        result.stdout.fnmatch_lines(["*no deployment of task 'triage' to check (see the failure of test_gate.py::test_data)*"])


def test_before_any_deployment_the_baselines_run_and_the_adapter_variant_is_skipped_with_why(suite):  # noqa: F811
    suite.makepyfile(test_baselines="""
        def test_every_variant(harness_run):
            variants = {r.generation.variant for r in harness_run()}
            assert variants == {"prompt-only"}
    """)
    result = suite.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*harness: skipped variant 'fine-tuned': no current adapter for task 'triage'*"])
