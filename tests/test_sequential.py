"""The sequential gate: anytime-valid level by simulation, power and savings, and the checks it settles."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from harness.config.gate import GateRules
from harness.gate.checks import floor_check, primary_check
from harness.gate.decision import GateCheck
from harness.gate.sequential import draw_order, look_sizes, sequence_record, sequential_specs, with_sequences
from harness.gate.sequential_sim import Scenario, simulate
from harness.records import Case, CaseResult, Generation, Score
from harness.stats_sequential import betting_bounds, mean_grid, settled_side

ALPHA = 0.05
GATES = 2000
MC_MARGIN = 3 * math.sqrt(ALPHA * (1 - ALPHA) / GATES)
"""Three Monte Carlo standard errors of a rate of alpha over 2,000 simulated gates (about 0.015)."""


@pytest.mark.parametrize(("scenario", "statistic", "threshold"), [
    (Scenario(0.2, 0.2, fields=3), "mean", 0.0),  # triage-like field_mean, candidate exactly as good
    (Scenario(0.2, 0.2), "discordant", 0.0),  # pass/fail primary with margin 0: the sequential McNemar
    (Scenario(0.15, 0.20), "mean", -0.05),  # a regression exactly at the general tolerance
])
def test_false_accepts_stay_at_or_below_alpha_when_stopping_after_every_chunk(scenario, statistic, threshold):
    result = simulate(scenario, threshold=threshold, statistic=statistic, gates=GATES, alpha=ALPHA, seed=1)
    assert result.accept_sequential <= ALPHA + MC_MARGIN, result
    assert result.accept_sequential >= result.accept_fixed  # the fixed-n fallback is part of it: never below


def test_clear_effects_like_the_demos_settle_early_with_the_power_of_the_fixed_n_gate():
    win = simulate(Scenario(0.33, 0.09, fields=3), gates=500, seed=2)  # +0.24, as the triage fine-tune
    loss = simulate(Scenario(0.05, 0.31), threshold=-0.05, n_cases=162, gates=500, seed=3)  # -0.26 general capability
    assert win.accept_fixed > 0.99 and win.accept_sequential >= win.accept_fixed - 0.01
    assert loss.reject_sequential >= loss.reject_fixed - 0.01
    assert win.saved > 0.5 and loss.saved > 0.3, (win, loss)


def test_a_close_call_uses_every_case():
    close = simulate(Scenario(0.22, 0.18, fields=3), gates=300, seed=4)  # +0.04: needs all 155 cases
    assert close.saved < 0.1


def test_the_sequence_covers_the_mean_at_every_look_and_narrows():
    rng = np.random.default_rng(0)
    x = rng.binomial(1, 0.3, size=(500, 200)).astype(float)
    bounds = betting_bounds(x, 0.05, list(range(20, 201, 20)), grid=mean_grid(201, [0.3]))
    ever_missed = (settled_side(bounds.low, bounds.high, 0.3) != 0).any(axis=1).mean()
    assert ever_missed <= 0.05 + 3 * math.sqrt(0.05 * 0.95 / 500)
    widths = (bounds.high - bounds.low).mean(axis=0)
    assert np.all(np.diff(widths) <= 0) and widths[-1] < 0.35 < widths[0]
    assert bounds.n[0].tolist() == list(range(20, 201, 20))


def test_skipped_observations_neither_bet_nor_count():
    x = np.array([[1.0, 0.5, 1.0, 0.5]])
    bounds = betting_bounds(x, 0.05, [4], observed=x != 0.5)
    assert bounds.n[0, 0] == 2


def test_bounded_observations_only():
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        betting_bounds([0.5, 1.5], 0.05, [2])
    with pytest.raises(ValueError, match="looks"):
        betting_bounds([0.5, 0.5], 0.05, [3])


def test_looks_start_at_min_cases_and_the_order_is_seeded():
    assert look_sizes(155, 50, 16) == [50, 66, 82, 98, 114, 130, 146, 155]
    assert look_sizes(30, 50, 16) == [30] and look_sizes(0, 50, 16) == []
    ids = [f"c{i}" for i in range(20)]
    assert draw_order(ids, 0) == draw_order(list(reversed(ids)), 0) != draw_order(ids, 1)
    assert sorted(draw_order(ids, 0)) == sorted(ids)


RULES = GateRules(candidate="ft", baselines=("prompt",), primary="ok", min_cases=10, n_resamples=500,
                  floors={"ok": 0.3}, sequential=True)


def scored(variant: str, values: list[float], samples: int = 1) -> list[CaseResult]:
    return [CaseResult(Case(f"c{i:03}", "t", (), None), Generation(f"c{i:03}", variant, s, text="x"), [Score("ok", v)])
            for i, v in enumerate(values) for s in range(samples)]


def test_a_clear_win_settles_and_its_verdict_comes_from_the_sequence():
    rng = np.random.default_rng(5)
    base = rng.binomial(1, 0.2, 60).astype(float).tolist()
    cand = rng.binomial(1, 0.9, 60).astype(float).tolist()
    results = {"prompt": scored("prompt", base), "ft": scored("ft", cand)}
    order = draw_order([f"c{i:03}" for i in range(60)], 0)[:40]
    specs, blocking = sequential_specs(RULES)
    assert [s.name for s in specs] == ["beats prompt on ok", "ok floor"] and not blocking
    records = {s.name: sequence_record(s, results, RULES, order, 60) for s in specs}
    assert records["beats prompt on ok"].stopped == "settled above the threshold"
    assert records["beats prompt on ok"].statistic == "candidate's share of discordant pairs"
    assert records["ok floor"].stopped == "settled above the threshold" and records["ok floor"].low > 0.3
    subset = {v: [r for r in rs if r.case.id in order] for v, rs in results.items()}
    checks = [primary_check("prompt", subset, RULES), floor_check("ok", 0.3, subset["ft"])]
    settled = with_sequences(checks, records, stopped_early=True)
    assert [c.verdict for c in settled] == ["pass", "pass"]
    assert "anytime-valid" in settled[0].explanation and settled[0].sequential.cases_used == 40
    kept = with_sequences(checks, records, stopped_early=False)
    assert [c.explanation for c in kept] == [c.explanation for c in checks]
    assert "cases ran out" in kept[0].sequential.stopped


def test_fewer_scored_cases_than_min_cases_never_settle():
    results = {"prompt": scored("prompt", [0.0] * 40), "ft": scored("ft", [1.0] * 5 + [None] * 35)}
    spec = sequential_specs(RULES)[0][0]
    record = sequence_record(spec, results, RULES, [f"c{i:03}" for i in range(40)], 40)
    assert record.stopped.startswith("unsettled: 5 scored cases")


def test_a_tie_stays_unsettled_and_corpus_metrics_block_stopping():
    results = {"prompt": scored("prompt", [0.5] * 40), "ft": scored("ft", [0.5] * 40)}
    spec = sequential_specs(RULES)[0][0]
    record = sequence_record(spec, results, RULES, [f"c{i:03}" for i in range(40)], 40)
    assert record.stopped == "unsettled" and record.low < 0 < record.high
    corpus = GateRules(candidate="ft", baselines=("prompt",), fields=("category",))
    specs, blocking = sequential_specs(corpus)
    assert not specs and set(blocking) == {"beats prompt on field_macro_f1", "fields no worse than prompt"}
    assert all("ratio of corpus counts" in why for why in blocking.values())


def test_repeats_are_averaged_per_case_before_the_sequence():
    rows = scored("ft", [1.0] * 30, samples=3) + scored("prompt", [0.0] * 30, samples=3)
    rows[1].scores[0] = Score("ok", 0.0)  # case c000, sample 1 fails: that case's mean is 2/3
    results = {"ft": [r for r in rows if r.generation.variant == "ft"],
               "prompt": [r for r in rows if r.generation.variant == "prompt"]}
    spec = sequential_specs(RULES)[0][0]
    record = sequence_record(spec, results, RULES, [f"c{i:03}" for i in range(30)], 30)
    assert record.statistic == "paired mean difference"  # 2/3 is not pass/fail: the mean-difference sequence
    assert record.stopped == "settled above the threshold"


def test_the_record_travels_through_decision_json():
    check = with_sequences([GateCheck("ok floor", "pass", "x")],
                           {"ok floor": sequence_record(sequential_specs(RULES)[0][1],
                                                        {"ft": scored("ft", [1.0] * 20)}, RULES,
                                                        [f"c{i:03}" for i in range(20)], 50)}, True)[0]
    back = GateCheck.from_dict(json.loads(json.dumps(check.to_dict())))
    assert back.sequential == check.sequential and back.sequential.cases_available == 50
    assert GateCheck.from_dict({"name": "x", "verdict": "pass", "explanation": ""}).sequential is None


SEQUENTIAL_CONFIG = """\
task: triage
model: {model}
cases: ./heldout.jsonl
decoding: {{max_new_tokens: 4}}
variants:
  prompt-only: {{kind: prompt}}
  fine-tuned: {{kind: adapter, adapter: current:triage}}
scoring: {{schema: {schema}}}
gate: {{primary: schema_valid, margin: -0.5, floors: {{schema_valid: 0.9}}, min_cases: 16, sequential: true,
        sequential_chunk: 8}}
"""


@pytest.mark.slow
def test_a_sequential_gate_on_a_tiny_model_stops_at_the_first_look_and_a_rerun_generates_nothing(
        tmp_path, tiny_checkpoint, tiny_adapters):
    import dataclasses
    import shutil

    from harness.eval.runner import EvalOptions
    from harness.fileio import sha256_file
    from harness.gate.run import gate_decision
    from harness.records import CaseResult as Result
    from tests.tiny import write_triage_file

    write_triage_file(tmp_path / "train.jsonl", 10)
    write_triage_file(tmp_path / "heldout.jsonl", 40, offset=100)
    schema = Path(__file__).parent.parent / "suites" / "triage" / "schema.json"
    (tmp_path / "harness.yaml").write_text(SEQUENTIAL_CONFIG.format(model=tiny_checkpoint, schema=schema))
    candidate = tmp_path / "candidates" / "triage-1"
    shutil.copytree(tiny_adapters["a"], candidate)
    data = {"dataset": str(tmp_path / "train.jsonl"), "dataset_sha256": sha256_file(tmp_path / "train.jsonl")}
    (candidate / "manifest.json").write_text(json.dumps({"task": "triage", "data": data}))
    options = EvalOptions(runs_dir=tmp_path / "runs", cache_path=tmp_path / "cache.sqlite", progress=False)
    decision = gate_decision(candidate, tmp_path / "harness.yaml", options)
    primary, floor = decision.check("beats prompt-only"), decision.check("schema_valid floor")
    assert primary is not None and floor is not None, decision.checks
    # The random tiny model answers nothing right with or without its adapter: a tie (above margin -0.5, settled
    # at once) and a floor of 0.9 missed by far; both settle at the first look, 16 of 40 cases.
    assert primary.verdict == "pass" and floor.verdict == "fail" and decision.verdict == "rejected"
    assert primary.sequential.cases_used == floor.sequential.cases_used == 16
    assert primary.sequential.cases_available == 40
    run_results = [Result.from_json(line) for line in
                   (tmp_path / "runs" / decision.run.split("/")[-1] / "results.jsonl").read_text().splitlines()]
    assert len(run_results) == 2 * 16  # only the drawn cases were generated and written
    again = gate_decision(candidate, tmp_path / "harness.yaml", dataclasses.replace(options))
    rerun = [Result.from_json(line) for line in
             (tmp_path / "runs" / again.run.split("/")[-1] / "results.jsonl").read_text().splitlines()]
    assert all(r.generation.cached for r in rerun) and again.verdict == decision.verdict
