"""The deployment ladder and per-field non-inferiority, on synthetic scored results (no model needed)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from harness.config.gate import GateRules
from harness.gate.checks import decide, primary_check
from harness.gate.decision import GateCheck
from harness.gate.fields import field_check
from harness.gate.ladder.decide import LadderDecision, Rung, RungCost, decide_ladder, gate_checks
from harness.records import Case, CaseResult, Generation, Score

N = 120
RULES = GateRules(candidate="fine-tuned", baselines=("prompt-only", "rag"), primary="ok", min_cases=20, n_resamples=1000,
                  floors={"valid": 0.9})
KINDS = {"prompt-only": "prompt", "rag": "rag", "fine-tuned": "adapter"}


def scored(variant: str, values, valid=1.0, error_at: int | None = None, texts=None, refs=None) -> list[CaseResult]:
    out = []
    for i, value in enumerate(values):
        error = "boom" if i == error_at else None
        case = Case(f"c{i:03}", "t", (), refs[i] if refs else None)
        text = None if error else (texts[i] if texts else "x")
        out.append(CaseResult(case, Generation(case.id, variant, text=text, error=error, prompt_tokens=100, latency_s=0.1),
                              [Score("ok", float(value)), Score("valid", float(valid))]))
    return out


def rate(p: float, seed: int) -> np.ndarray:
    return (np.random.default_rng(seed).random(N) < p).astype(float)


def rungs(training_s: float = 260.0) -> list[Rung]:
    return [Rung(name, kind, RungCost(kind, training_s=training_s if kind == "adapter" else None))
            for name, kind in KINDS.items()]


def ladder(prompt, rag, tuned, **kwargs) -> LadderDecision:
    results = {"prompt-only": scored("prompt-only", prompt, **kwargs.get("p", {})),
               "rag": scored("rag", rag, **kwargs.get("r", {})), "fine-tuned": scored("fine-tuned", tuned, **kwargs.get("f", {}))}
    return decide_ladder("triage", results, kwargs.get("rungs") or rungs(), RULES)


LOW, HIGH = rate(0.3, 1), np.ones(N)


def better(base: np.ndarray, flips: int) -> np.ndarray:
    """``base`` with its first ``flips`` wrong answers made right: a clear paired win."""
    out = base.copy()
    out[np.flatnonzero(out == 0)[:flips]] = 1
    return out


def test_each_rung_wins_once():
    mid = better(LOW, 40)
    assert ladder(LOW, LOW, LOW).chosen == "prompt-only"
    rag = ladder(LOW, mid, mid)
    assert rag.verdict == "deploy" and rag.chosen == "rag" and rag.chosen_kind == "rag"
    assert rag.reasons[0].startswith("deploy rag: fine-tuned does not beat it on ok, delta +0.000")
    assert "260 s of training" in rag.reasons[0]
    assert any(line.startswith("rag beats prompt-only on ok, delta +0.") for line in rag.reasons)
    tuned = ladder(LOW, mid, HIGH)
    assert tuned.chosen == "fine-tuned" and tuned.rung("fine-tuned").beats == {"prompt-only": "pass", "rag": "pass"}
    assert tuned.reasons[0] == "deploy fine-tuned: no costlier rung is on the ladder"


def test_a_fine_tune_must_beat_every_cheaper_rung_not_just_the_last():
    """RAG loses to prompt-only, yet is eligible: a fine-tune that beats RAG but not prompt-only is not deployed."""
    worse = LOW.copy()
    worse[np.flatnonzero(worse == 1)[:20]] = 0
    decision = ladder(LOW, worse, better(worse, 20))
    assert decision.chosen == "prompt-only"
    assert decision.rung("fine-tuned").beats["rag"] == "pass" and decision.rung("fine-tuned").beats["prompt-only"] != "pass"


def test_ties_go_to_the_cheaper_rung():
    noisy = LOW.copy()
    noisy[np.flatnonzero(LOW == 0)[:6]] = 1  # six cases won, six lost: no demonstrated win
    noisy[np.flatnonzero(LOW == 1)[:6]] = 0
    decision = ladder(LOW, LOW.copy(), noisy)
    assert decision.chosen == "prompt-only"
    assert decision.rung("rag").beats["prompt-only"] == "fail"  # identical outputs: certainly no win


@pytest.mark.parametrize("where", ["p", "r", "f"])
def test_an_error_anywhere_is_inconclusive_never_a_promotion(where):
    decision = ladder(LOW, better(LOW, 40), HIGH, **{where: {"error_at": 5}})
    assert decision.verdict == "inconclusive" and decision.chosen is None
    assert "generation errors" in " ".join(decision.reasons)


def test_an_empty_ladder_is_inconclusive():
    decision = decide_ladder("triage", {}, [], RULES)
    assert decision.verdict == "inconclusive" and "no variant is on the ladder" in decision.reasons[1]


def test_missing_data_in_a_rung_check_is_inconclusive():
    with_gap = rungs()
    with_gap[2].checks = [GateCheck("held-out leakage", "inconclusive", "the candidate's training data is not available")]
    decision = ladder(LOW, better(LOW, 40), HIGH, rungs=with_gap)
    assert decision.verdict == "inconclusive" and "fine-tuned: held-out leakage" in "\n".join(decision.reasons)


def test_a_rung_that_fails_its_floor_or_own_checks_is_not_eligible():
    decision = ladder(LOW, better(LOW, 40), HIGH, r={"valid": 0.5})
    assert decision.chosen == "fine-tuned" and decision.rung("rag").eligible == "fail"
    forgets = rungs()
    forgets[2].checks = [GateCheck("general capability", "fail", "regression", interval=(-0.3, -0.1))]
    decision = ladder(LOW, better(LOW, 40), HIGH, rungs=forgets)
    assert decision.chosen == "rag" and "fine-tuned is not eligible: general capability" in decision.reasons[0]
    nothing = ladder(LOW, LOW, LOW, p={"valid": 0}, r={"valid": 0}, f={"valid": 0})
    assert nothing.verdict == "none" and nothing.chosen is None


def test_a_rung_without_floors_or_own_checks_is_eligible():
    results = {v: scored(v, LOW) for v in KINDS}
    rules = GateRules(candidate="fine-tuned", baselines=(), primary="ok", min_cases=20, n_resamples=500)
    decision = decide_ladder("triage", results, rungs(), rules)
    assert decision.rung("prompt-only").eligible == "pass" and decision.chosen == "prompt-only"


def test_a_variant_gate_asks_what_the_ladder_asks():
    """RAG deployed because prompt-only fails its floor: its gate does not require beating prompt-only."""
    decision = ladder(LOW, LOW.copy(), LOW, p={"valid": 0.5})
    assert decision.chosen == "rag"
    names = [c.name for c in gate_checks(decision, "rag")]
    assert names == ["data", "judge calibration", "valid floor"] and decide(gate_checks(decision, "rag")) == "accepted"
    tuned = [c.name for c in gate_checks(decision, "fine-tuned")]
    assert "beats rag on ok" in tuned and "beats prompt-only on ok" not in tuned
    assert decide(gate_checks(decision, "fine-tuned")) == "rejected"


def test_a_ladder_decision_round_trips_through_json():
    from harness.manifests import EngineInfo

    decision = ladder(LOW, better(LOW, 40), HIGH)
    assert decision.engine is None  # decided here, on no engine
    again = LadderDecision.from_dict(json.loads(json.dumps(decision.to_dict())))
    assert again == decision
    decision.engine = EngineInfo(version="0.32.0", model="served", max_model_len=2048)
    again = LadderDecision.from_dict(json.loads(json.dumps(decision.to_dict())))
    assert again == decision and again.engine == decision.engine


FIELD_RULES = GateRules(candidate="ft", baselines=("base",), primary="field_macro_f1", fields=("category", "needs_human"),
                        min_cases=20, n_resamples=1000, field_margin=0.05)


def triage_texts(category_right: np.ndarray, human_right: np.ndarray, refs: list[dict]) -> list[str]:
    out = []
    for ref, cat_ok, human_ok in zip(refs, category_right, human_right, strict=True):
        out.append(json.dumps({"category": ref["category"] if cat_ok else "other",
                               "needs_human": ref["needs_human"] if human_ok else not ref["needs_human"]}))
    return out


def test_a_candidate_that_wins_the_mean_but_loses_a_field_is_rejected_with_the_field_named():
    rng = np.random.default_rng(3)
    refs = [{"category": str(c), "needs_human": bool(h)} for c, h in zip(rng.choice(["billing", "bug", "account"], N),
                                                                          rng.random(N) < 0.4, strict=True)]
    ref_text = [json.dumps(r) for r in refs]
    base = triage_texts(rng.random(N) < 0.3, rng.random(N) < 0.9, refs)  # category weak, needs_human strong
    cand = triage_texts(np.ones(N, bool), rng.random(N) < 0.6, refs)  # category perfect, needs_human traded away
    results = {"base": scored("base", np.zeros(N), texts=base, refs=ref_text),
               "ft": scored("ft", np.zeros(N), texts=cand, refs=ref_text)}
    assert primary_check("base", results, FIELD_RULES).verdict == "pass"  # it wins the mean macro-F1
    check = field_check("base", results, FIELD_RULES)
    assert check.verdict == "fail" and "worse than base on needs_human" in check.explanation
    assert check.observed["category"] > 0 > check.observed["needs_human"]
    same = field_check("base", {"base": results["base"], "ft": scored("ft", np.zeros(N), texts=base, refs=ref_text)},
                       FIELD_RULES)
    assert same.verdict == "pass" and same.delta == 0


def test_cost_in_words():
    tuned = RungCost("adapter", prompt_tokens_mean=120, latency_p50_s=0.2, training_s=260.4)
    rag = RungCost("rag", prompt_tokens_mean=430, latency_p50_s=0.5)
    assert tuned.more_than(rag) == "260 s of training, 310 fewer prompt tokens per request, latency p50 0.20 s vs 0.50 s"
    assert rag.more_than(RungCost("prompt", prompt_tokens_mean=100)) == "330 more prompt tokens per request"
    assert RungCost("rag").more_than(RungCost("prompt")) == "a rag rung (costlier than prompt)"
