"""The sequential gate beyond the mean checks: corpus metrics, general capability, forgetting, and the ladder."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from harness.config.gate import GateRules
from harness.gate.checks import floor_check, primary_check
from harness.gate.decision import GateCheck
from harness.gate.fields import field_check
from harness.gate.ladder.decide import Rung, RungCost, decide_ladder
from harness.gate.sequential import (
    draw_order,
    fixed_n,
    ladder_specs,
    sequence_record,
    sequential_specs,
    why_every_case,
    with_sequences,
)
from harness.gate.sequential_corpus import macro_f1_bounds
from harness.gate.sequential_general import FORGETTING_REASON
from harness.gate.sequential_run import SequentialRun
from harness.records import Case, CaseResult, Generation, Score

CORPUS = GateRules(candidate="ft", baselines=("prompt",), fields=("category",), min_cases=10, n_resamples=300,
                   sequential=True)


def labelled(variant: str, refs: list[str], preds: list[str]) -> list[CaseResult]:
    return [CaseResult(Case(f"c{i:03}", "t", (), json.dumps({"category": r})),
                       Generation(f"c{i:03}", variant, text=json.dumps({"category": p})), [])
            for i, (r, p) in enumerate(zip(refs, preds, strict=True))]


def test_corpus_checks_use_every_case_and_each_says_why_in_the_decision():
    rng = np.random.default_rng(0)
    refs = [str(x) for x in rng.integers(0, 3, 60)]
    results = {"ft": labelled("ft", refs, refs), "prompt": labelled("prompt", refs, ["0"] * 60)}
    specs, blocking = sequential_specs(CORPUS)
    assert not specs
    checks = [primary_check("prompt", results, CORPUS), field_check("prompt", results, CORPUS)]
    why = why_every_case({}, blocking)
    out = with_sequences(checks, {}, stopped_early=False, why_all=why, blocking=blocking)
    assert [c.verdict for c in out] == [c.verdict for c in checks] == ["pass", "pass"]  # the fixed-n verdicts
    for check in out:
        assert check.sequential is not None and check.sequential.cases_used == check.sequential.cases_available == 60
        assert check.sequential.stopped.startswith("fixed-n:") and "ratio of corpus counts" in check.sequential.stopped
    assert "have no anytime-valid sequence" in why


def _population_f1(ref: np.ndarray, pred: np.ndarray, labels: list[str]) -> float:
    f1 = [2 * np.sum((ref == c) & (pred == c)) / (np.sum(ref == c) + np.sum(pred == c)) for c in labels]
    return float(np.mean(f1))


def test_the_union_bound_macro_f1_sequence_covers_the_truth_but_is_too_wide_to_settle_at_demo_size():
    rng = np.random.default_rng(1)
    labels = [str(c) for c in range(5)]

    def draw(n: int, accuracy: float, ref: np.ndarray) -> np.ndarray:
        return np.where(rng.random(n) < accuracy, ref, rng.integers(0, 5, n).astype(str))

    big = rng.integers(0, 5, 200_000).astype(str)  # the population, near enough
    truth = _population_f1(big, draw(len(big), 0.9, big), labels) - _population_f1(big, draw(len(big), 0.5, big), labels)
    widths = []
    for _ in range(8):
        ref = rng.integers(0, 5, 155).astype(str)
        cand, base = draw(155, 0.9, ref), draw(155, 0.5, ref)
        bounds = macro_f1_bounds({"f": ref.tolist()}, {"f": [[p] for p in cand]}, {"f": [[p] for p in base]},
                                 {"f": labels}, 0.05, grid_size=201)
        low, high = bounds.mean
        assert low <= truth <= high and bounds.sequences == 20
        widths.append(high - low)
    assert 0.3 < truth and min(widths) > 1.0  # a +0.36 difference, bounds over 1 wide: it could never settle


def test_forgetting_stays_fixed_n_and_says_why():
    check = fixed_n(GateCheck("forgetting (token loss)", "pass", "x", n=40), 40, FORGETTING_REASON)
    assert check.verdict == "pass" and check.sequential is not None
    assert check.sequential.cases_used == 40 and check.sequential.stopped.startswith("fixed-n: token-loss differences")


LADDER = GateRules(candidate="fine-tuned", baselines=("prompt-only",), primary="ok", min_cases=20, n_resamples=500,
                   floors={"ok": 0.1}, sequential=True)


def scored(variant: str, values: np.ndarray) -> list[CaseResult]:
    return [CaseResult(Case(f"c{i:03}", "t", (), None), Generation(f"c{i:03}", variant, text="x"), [Score("ok", float(v))])
            for i, v in enumerate(values)]


def test_the_ladder_names_every_rung_pair_and_takes_settled_verdicts_from_the_sequences():
    specs, blocking = ladder_specs(LADDER, ["prompt-only", "fine-tuned"])
    assert [s.name for s in specs] == ["prompt-only: ok floor", "fine-tuned: beats prompt-only on ok",
                                       "fine-tuned: ok floor"] and not blocking
    assert specs[1].candidate == "fine-tuned" and specs[1].baseline == "prompt-only"
    rng = np.random.default_rng(3)
    full = {"prompt-only": scored("prompt-only", (rng.random(120) < 0.35).astype(float)),
            "fine-tuned": scored("fine-tuned", (rng.random(120) < 0.95).astype(float))}
    drawn = draw_order([f"c{i:03}" for i in range(120)], 0)[:40]
    results = {v: [r for r in rs if r.case.id in drawn] for v, rs in full.items()}
    records = {s.name: sequence_record(s, results, LADDER, drawn, 120) for s in specs}
    assert all(r.stopped.startswith("settled") for r in records.values()), records
    run = SequentialRun(None, records, True)  # type: ignore[arg-type]  # decide_ladder reads only the records
    rungs = [Rung("prompt-only", "prompt", RungCost("prompt")), Rung("fine-tuned", "adapter", RungCost("adapter"))]
    decision = decide_ladder("t", results, rungs, LADDER, sequential=run)
    tuned = decision.rung("fine-tuned")
    assert tuned is not None and decision.chosen == "fine-tuned", decision.reasons
    beats = tuned.checks_vs("prompt-only")[0]
    assert beats.verdict == "pass" and beats.sequential is not None and beats.sequential.cases_used == 40
    assert "anytime-valid" in beats.explanation
    floor = next(c for c in tuned.checks if c.name == "ok floor")
    assert floor.sequential is not None and floor.sequential.stopped == "settled above the threshold"
    plain = decide_ladder("t", results, rungs, LADDER)
    assert plain.rung("fine-tuned").checks_vs("prompt-only")[0].sequential is None  # type: ignore[union-attr]
    assert floor_check("ok", 0.1, results["fine-tuned"]).verdict == floor.verdict


CONFIG = """\
task: triage
model: {model}
cases: ./heldout.jsonl
decoding: {{max_new_tokens: 4}}
variants:
  prompt-only: {{kind: prompt}}
  fine-tuned: {{kind: adapter, adapter: current:triage}}
scoring: {{schema: {schema}}}
gate: {{primary: schema_valid, margin: -0.5, min_cases: 16, sequential: {sequential}, sequential_chunk: 8,
        general: {{items: ./items.jsonl, tolerance: 0.3, max_new_tokens: 4}}}}
"""


def _setup(tmp_path: Path, tiny_checkpoint: Path, adapter: Path, sequential: bool) -> Path:
    from harness.config.file import builtin_path
    from harness.fileio import sha256_file
    from tests.tiny import write_triage_file

    write_triage_file(tmp_path / "train.jsonl", 10)
    write_triage_file(tmp_path / "heldout.jsonl", 40, offset=100)
    items = Path(builtin_path("builtin:general")).read_text().splitlines()[:60]
    (tmp_path / "items.jsonl").write_text("\n".join(items) + "\n")
    schema = Path(__file__).parent.parent / "suites" / "triage" / "schema.json"
    (tmp_path / "harness.yaml").write_text(CONFIG.format(model=tiny_checkpoint, schema=schema,
                                                         sequential=str(sequential).lower()))
    candidate = tmp_path / "candidates" / "triage-1"
    if not candidate.exists():
        shutil.copytree(adapter, candidate)
        data = {"dataset": str(tmp_path / "train.jsonl"), "dataset_sha256": sha256_file(tmp_path / "train.jsonl")}
        (candidate / "manifest.json").write_text(json.dumps({"task": "triage", "data": data}))
    return candidate


@pytest.mark.slow
def test_the_general_check_stops_once_settled_with_the_fixed_n_verdict(
        tmp_path, tiny_checkpoint, tiny_adapters):
    from harness.eval.runner import EvalOptions
    from harness.gate.run import gate_decision

    candidate = _setup(tmp_path, tiny_checkpoint, tiny_adapters["a"], sequential=False)
    options = EvalOptions(runs_dir=tmp_path / "runs", cache_path=tmp_path / "cache.sqlite", progress=False)
    fixed = gate_decision(candidate, tmp_path / "harness.yaml", options).check("general capability")
    _setup(tmp_path, tiny_checkpoint, tiny_adapters["a"], sequential=True)
    decision = gate_decision(candidate, tmp_path / "harness.yaml", options)
    general = decision.check("general capability")
    assert fixed is not None and general is not None and fixed.sequential is None
    # The random tiny model passes no general item with or without its adapter: a change of 0, well within the
    # tolerance of 0.3, so the sequence settles above -0.3 before the 60 items run out.
    assert general.verdict == fixed.verdict == "pass", (general, fixed)
    assert general.sequential is not None and general.sequential.stopped == "settled above the threshold"
    assert 16 <= general.sequential.cases_used < 60 and general.n == general.sequential.cases_used
    general_runs = [p for p in (tmp_path / "runs").iterdir() if "general" in p.name]
    assert len(general_runs) == 2  # fixed-n wrote one run, the sequential check one (only its final look)
    sizes = sorted(len((p / "results.jsonl").read_text().splitlines()) for p in general_runs)
    assert sizes == [2 * general.sequential.cases_used, 2 * 60]
    beats = decision.check("beats prompt-only")
    assert beats is not None and beats.sequential is not None and beats.sequential.cases_used == 16


@pytest.mark.slow
def test_the_ladder_honours_gate_sequential(tmp_path, tiny_checkpoint, tiny_adapters):
    from harness.eval.cases import load_cases
    from harness.eval.runner import EvalOptions
    from harness.gate.ladder.run import run_ladder
    from harness.records import CaseResult as Result

    candidate = _setup(tmp_path, tiny_checkpoint, tiny_adapters["a"], sequential=True)
    options = EvalOptions(runs_dir=tmp_path / "runs", cache_path=tmp_path / "cache.sqlite", progress=False)
    ladder = run_ladder(tmp_path / "harness.yaml", options, candidate=candidate)
    tuned = ladder.rung("fine-tuned")
    assert tuned is not None, ladder.reasons
    beats = tuned.checks_vs("prompt-only")[0]
    # a tie of the random model with itself, above the margin -0.5: settled at the first look, 16 of 40 cases
    assert beats.verdict == "pass" and beats.sequential is not None
    assert (beats.sequential.cases_used, beats.sequential.cases_available) == (16, 40)
    general = next(c for c in tuned.checks if c.name.startswith("general capability"))
    assert general.sequential is not None and general.sequential.cases_used < 60
    assert ladder.run is not None
    results = (Path(ladder.run) / "results.jsonl").read_text().splitlines()
    ids = [c.id for c in load_cases(tmp_path / "heldout.jsonl", "triage")]
    assert len(results) == 2 * 16  # only the drawn cases, in the seeded order
    assert {Result.from_json(line).case.id for line in results} == set(draw_order(ids, 0)[:16])
