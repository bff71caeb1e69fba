"""The pytest plugin, through pytester: options, markers, inertness, fixtures, failure messages, xdist."""

from __future__ import annotations

import json
import sqlite3

import pytest

from tests.tiny import write_triage_file

pytest_plugins = ["pytester"]

CONFIG = """\
task: triage
model: {model}
backend: {{kind: local, batch_size: 4}}
cases: ./heldout.jsonl
decoding: {{max_new_tokens: 3}}
variants:
  prompt-only: {{kind: prompt, system: "Reply with JSON."}}
  fine-tuned: {{kind: adapter, adapter: current:triage}}
scoring:
  fields: [category, priority, needs_human]
gate:
  candidate: fine-tuned
  baselines: [prompt-only]
  primary: field_macro_f1
  min_cases: 5
  n_resamples: 500
"""


@pytest.fixture
def suite(pytester, tiny_checkpoint, tiny_adapters, monkeypatch):
    """A suite folder with a tiny model config, held-out cases, its own cache and registry."""
    write_triage_file(pytester.path / "train.jsonl", 20)
    write_triage_file(pytester.path / "heldout.jsonl", 8, offset=500)
    (pytester.path / "harness.yaml").write_text(CONFIG.format(model=tiny_checkpoint))
    monkeypatch.setenv("HARNESS_CACHE_DIR", str(pytester.path / "cache"))
    monkeypatch.setenv("HARNESS_REGISTRY", str(pytester.path / "candidates"))
    return pytester


def make_candidate(pytester, tiny_adapters) -> str:
    import shutil

    folder = pytester.path / "candidates" / "triage-1"
    shutil.copytree(tiny_adapters["a"], folder)
    dataset = pytester.path / "train.jsonl"
    from harness.fileio import sha256_file

    (folder / "manifest.json").write_text(json.dumps({"task": "triage", "data": {
        "dataset": str(dataset), "dataset_sha256": sha256_file(dataset)}}))
    return str(folder)


@pytest.mark.slow
def test_plugin_is_inert_for_unrelated_sessions(pytester):
    pytester.makepyfile(test_plain="""
        import sys
        def test_nothing_heavy_loaded():
            assert "torch" not in sys.modules
            assert "harness.suite.session" not in sys.modules
    """)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    assert "harness-0.1.0" in result.stdout.str()  # the plugin was loaded
    pytester_own = ("runpytest", "stdout", "stderr", "__pycache__")  # pytester's and Python's own files
    written = [p.name for p in pytester.path.iterdir() if not p.name.startswith(pytester_own)]
    assert written == ["test_plain.py"]
    assert "model load" not in result.stdout.str()


def test_options_and_markers_are_registered(pytester):
    help_text = pytester.runpytest("--help").stdout.str()
    for option in ("--harness-config", "--variants", "--candidate", "--limit", "--repeats", "--no-cache",
                   "--harness-runs-dir"):
        assert option in help_text
    assert "harness eval suites" in help_text
    markers = pytester.runpytest("--markers").stdout.str()
    assert "@pytest.mark.harness_suite(name, version)" in markers and "@pytest.mark.slow:" in markers
    assert "@pytest.mark.gpu" not in markers and "@pytest.mark.live" not in markers  # no test uses them


@pytest.mark.slow
def test_runs_are_shared_and_the_model_loads_once(suite):
    suite.makepyfile(test_a="""
        def test_one(harness_run, harness_cases):
            results = harness_run(["prompt-only"])
            assert len(results) == len(harness_cases) == 8
        def test_two(harness_run):
            assert all(r.scores for r in harness_run(["prompt-only"]))
        def test_three(harness_variants, harness_config):
            assert set(harness_variants) == {"prompt-only", "fine-tuned"} and harness_config.task == "triage"
    """)
    result = suite.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines(["*harness: 1 model load(s) this session*", "*prompt-only*8*"])


@pytest.mark.slow
def test_missing_candidate_is_a_clear_failure(suite):
    suite.makepyfile(test_gate="""
        def test_beats(harness_gate):
            harness_gate.require("beats prompt-only")
    """)
    result = suite.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*task 'triage' has no deployment in *candidates: run `harness decide --config "
                                 "*harness.yaml --promote`"])
    assert "Traceback" not in result.stdout.str()


@pytest.mark.slow
def test_gate_failures_read_like_a_report(suite, tiny_adapters):
    candidate = make_candidate(suite, tiny_adapters)
    suite.makepyfile(test_gate="""
        import pytest
        pytestmark = pytest.mark.harness_suite("triage", version="3")
        def test_beats(harness_gate):
            harness_gate.require("beats prompt-only")
        def test_leak(harness_gate):
            harness_gate.require("held-out leakage")
        def test_unknown(harness_gate):
            harness_gate.require("no such check")
    """)
    result = suite.runpytest("-p", "no:cacheprovider", "--candidate", f"triage={candidate}", "--junitxml", "report.xml")
    result.assert_outcomes(passed=1, failed=2)
    out = result.stdout.str()
    assert "beats prompt-only on field_macro_f1: " in out and "delta " in out and "CI [" in out and "n 8" in out
    assert "observed: candidate" in out and "case " in out and "expected '{" in out and "got " in out
    assert "no gate check 'no such check'; checks: data, beats prompt-only" in out
    junit = (suite.path / "report.xml").read_text()
    assert 'name="beats prompt-only on field_macro_f1:delta"' in junit
    runs = list((suite.path / "runs").glob("*/decision.json"))
    assert len(runs) == 1 and json.loads(runs[0].read_text())["verdict"] in ("rejected", "inconclusive")
    beside = json.loads((suite.path / "candidates" / "triage-1" / "decision.json").read_text())
    assert beside["verdict"] == json.loads(runs[0].read_text())["verdict"]  # what `harness registry promote` reads
    assert beside["suite"] == {"name": "triage", "version": "3"} and beside["schema_version"] == 2
    assert len(list((suite.path / "candidates" / "triage-1" / "decisions").glob("*.json"))) == 1


@pytest.mark.slow
def test_fail_closed_paths_print_one_line_per_test(suite):
    (suite.path / "harness.yaml").write_text((suite.path / "harness.yaml").read_text().replace("min_cases: 5", "min_cases: -5"))
    suite.makepyfile(test_gate="""
        def test_a(harness_gate):
            harness_gate.require("data")
        def test_b(harness_run):
            harness_run()
    """)
    result = suite.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(errors=2)  # the fixtures cannot be set up: an error, never a pass
    out = result.stdout.str()
    reports = out.split("short test summary info")[0]  # (under CI=true pytest repeats each message there in full)
    assert "another exception" not in out
    assert reports.count("harness.yaml:15: bad-config: gate.min_cases must be >= 1") == 2
    assert "Traceback" not in out and "harness/suite/session.py" not in out


@pytest.mark.slow
def test_xdist_workers_share_the_cache(suite):
    pytest.importorskip("xdist")
    for name in ("test_w1", "test_w2"):
        suite.makepyfile(**{name: """
            def test_run(harness_run):
                assert len(harness_run(["prompt-only"])) == 8
        """})
    result = suite.runpytest_subprocess("-n", "2", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["*harness: * model load(s) this session*"])  # the workers' summaries, via the controller
    database = sqlite3.connect(suite.path / "cache" / "generations.sqlite")
    assert database.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert database.execute("SELECT COUNT(*) FROM generations").fetchone()[0] == 8


@pytest.mark.slow
def test_xdist_computes_each_decision_once_and_the_controller_prints_one_summary(suite, tiny_adapters):
    pytest.importorskip("xdist")
    candidate = make_candidate(suite, tiny_adapters)
    suite.makepyfile(test_gate="""
        import os
        import pytest
        @pytest.mark.parametrize("check", ["data", "beats prompt-only", "held-out leakage", "data"])
        def test_check(harness_gate, record_property, check):
            record_property("worker", os.environ["PYTEST_XDIST_WORKER"])
            harness_gate.check(check)
            harness_gate.node.user_properties.append(("verdict", harness_gate.decision.verdict))
    """)
    result = suite.runpytest_subprocess("-n", "2", "-p", "no:cacheprovider", "--candidate", f"triage={candidate}",
                                        "--junitxml", "report.xml")
    result.assert_outcomes(passed=4)
    out = result.stdout.str()
    assert out.count("model load(s) this session") == 1 and out.count("gate triage (") == 1
    assert "across 2 worker(s); 1 gate decision(s) computed, 1 read from another worker" in out
    history = list((suite.path / "candidates" / "triage-1" / "decisions").glob("*.json"))
    assert len(history) == 1 and len(list((suite.path / "runs").glob("*/decision.json"))) == 1
    assert not list((suite.path / "runs").glob(".xdist-*"))  # the lock folder goes once every worker is done
    junit = (suite.path / "report.xml").read_text()
    assert 'name="worker" value="gw0"' in junit and 'name="worker" value="gw1"' in junit  # figures from every worker
    verdict = json.loads(history[0].read_text())["verdict"]
    assert junit.count(f'name="verdict" value="{verdict}"') == 4
