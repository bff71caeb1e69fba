"""Repeats: K independent samples per case, cached apart; the case as the statistical unit; flaky cases named."""

from __future__ import annotations

import sqlite3

import numpy as np
import pytest

from harness.config.gate import GateRules
from harness.gate.checks import data_check, primary_check
from harness.gate.decision import GateCheck
from harness.gate.repeats import case_repeats, clustered_by_variant, flaky_line, with_flaky
from harness.records import Case, CaseResult, Generation, Score
from harness.stats import paired_bootstrap, paired_cluster_bootstrap, pass_at_k, pass_hat_k


def test_clustered_intervals_are_wider_than_naive_ones_when_samples_of_a_case_agree():
    rng = np.random.default_rng(0)
    cases, k = 60, 5
    # Within-case correlation: a case is as hard on every sample, and the candidate helps on some cases, not others.
    difficulty, help_ = rng.normal(0, 1, cases), rng.normal(0.3, 1, cases)
    base = [(rng.normal(difficulty[i], 0.2, k) > 0).astype(float) for i in range(cases)]
    cand = [(rng.normal(difficulty[i] + help_[i], 0.2, k) > 0).astype(float) for i in range(cases)]
    clustered = paired_cluster_bootstrap(base, cand, n_resamples=4000)
    naive = paired_bootstrap(np.concatenate(base), np.concatenate(cand), n_resamples=4000)
    assert clustered.delta == pytest.approx(naive.delta)
    assert clustered.n == cases and naive.n == cases * k
    assert clustered.high - clustered.low > 1.5 * (naive.high - naive.low)


def test_pass_hat_k_and_pass_at_k():
    assert (pass_hat_k(3, 3, 3), pass_at_k(3, 3, 3)) == (1.0, 1.0)
    assert (pass_hat_k(3, 1, 3), pass_at_k(3, 1, 3)) == (0.0, 1.0)
    assert (pass_hat_k(3, 0, 3), pass_at_k(3, 0, 3)) == (0.0, 0.0)
    assert pass_at_k(10, 3, 2) == pytest.approx(1 - (7 * 6) / (10 * 9))
    assert pass_hat_k(10, 3, 2) == pytest.approx((3 * 2) / (10 * 9))
    with pytest.raises(ValueError, match="0 < k <= n"):
        pass_at_k(3, 1, 4)


def sampled(variant: str, outcomes: list[list[float]]) -> list[CaseResult]:
    return [CaseResult(Case(f"c{i:02}", "t", (), None), Generation(f"c{i:02}", variant, s, text="x"), [Score("ok", v)])
            for i, samples in enumerate(outcomes) for s, v in enumerate(samples)]


def test_the_gate_counts_cases_not_samples_and_names_the_flaky_ones():
    rules = GateRules(candidate="ft", baselines=("prompt",), primary="ok", min_cases=10, n_resamples=1000)
    cand = [[1.0, 1.0, 1.0]] * 14 + [[1.0, 0.0, 1.0], [0.0, 1.0, 0.0]] + [[0.0, 0.0, 0.0]] * 4
    base = [[0.0, 0.0, 0.0]] * 12 + [[1.0, 1.0, 1.0]] * 8
    rows = sampled("ft", cand) + sampled("prompt", base)
    results = clustered_by_variant(rows)
    assert data_check(results, rules).n == 20
    assert [r.scores[0].value for r in results["ft"]][14:16] == pytest.approx([2 / 3, 1 / 3])
    check = primary_check("prompt", results, rules)
    assert check.n == 20 and check.p_value is None  # averaged samples: the bootstrap over cases, not McNemar
    repeats = {r.case_id: r for r in case_repeats(rows[:60])}
    assert repeats["c14"].flaky and repeats["c14"].pass_hat_k == 0 and repeats["c14"].pass_at_k == 1
    assert not repeats["c00"].flaky and repeats["c00"].pass_hat_k == 1
    line = flaky_line(rows, None, ["ft", "prompt"])
    assert line == "flaky cases (pass on some samples, fail on others): ft 2 [c14 2/3, c15 1/3]"
    marked = with_flaky([check, GateCheck("data", "pass", "ok")], rows, None, ["ft", "prompt"])
    assert marked[0].explanation.endswith(line) and marked[1].explanation == "ok"
    assert with_flaky([check], sampled("ft", [[1.0, 1.0]] * 3), None, ["ft"]) == [check]


def test_an_error_on_any_sample_still_fails_the_data_check_closed():
    rules = GateRules(candidate="ft", baselines=("prompt",), primary="ok", min_cases=2)
    rows = sampled("ft", [[1.0, 1.0]] * 3) + sampled("prompt", [[0.0, 0.0]] * 3)
    rows[1] = CaseResult(rows[1].case, Generation("c00", "ft", 1, error="boom"), [Score("ok", None)])
    assert data_check(clustered_by_variant(rows), rules).verdict == "inconclusive"


REPEATS_CONFIG = """\
task: triage
model: {model}
cases: ./heldout.jsonl
decoding: {{max_new_tokens: 12, temperature: 1.0, seed: 7}}
variants:
  prompt-only: {{kind: prompt}}
"""


@pytest.mark.slow
def test_k_samples_differ_and_are_cached_separately(tmp_path, tiny_checkpoint):
    from harness.config.eval_config import load_eval_config
    from harness.eval.runner import EvalOptions, run_eval
    from tests.tiny import write_triage_file

    write_triage_file(tmp_path / "heldout.jsonl", 4)
    (tmp_path / "harness.yaml").write_text(REPEATS_CONFIG.format(model=tiny_checkpoint))
    config = load_eval_config(tmp_path / "harness.yaml")
    options = EvalOptions(repeats=3, runs_dir=tmp_path / "runs", cache_path=tmp_path / "cache.sqlite", progress=False)
    first = run_eval(config, options)
    texts = {(r.case.id, r.generation.sample): r.generation.text for r in first.results}
    assert len(texts) == 12 and not any(r.generation.cached for r in first.results)
    distinct = [len({texts[(case, s)] for s in range(3)}) for case in {c for c, _ in texts}]
    assert all(n == 3 for n in distinct), distinct  # three samples, three different outputs: never one answer copied
    with sqlite3.connect(tmp_path / "cache.sqlite") as db:
        assert db.execute("SELECT COUNT(*) FROM generations").fetchone()[0] == 12
    again = run_eval(config, options)
    assert all(r.generation.cached for r in again.results)
    assert {(r.case.id, r.generation.sample): r.generation.text for r in again.results} == texts


def test_the_reports_case_diff_gives_pass_hat_k_and_pass_at_k_with_repeats():
    from harness.reports.sections import repeats_note

    scores = {"ft": {"c1": {0: {"ok": 1.0}, 1: {"ok": 0.0}, 2: {"ok": 1.0}}, "c2": {0: {"ok": 0.0}}}}
    assert repeats_note(scores, "ft", "c1") == ["passed 2/3 samples: pass^3 0, pass@3 1"]
    assert repeats_note(scores, "ft", "c2") == [] and repeats_note(scores, "ft", "missing") == []
