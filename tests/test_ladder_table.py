"""``harness decide`` prints a table a person acts on, and each rejection names its remedy."""

from __future__ import annotations

import json

import pytest

from harness.config.eval_config import load_eval_config
from harness.config.gate import GateRules
from harness.eval.backends import make_backend
from harness.eval.runner import EvalOptions
from harness.gate.decision import GateCheck
from harness.gate.ladder.changed import changed_general_items
from harness.gate.ladder.record import LadderDecision, RungCost, RungVerdict
from harness.gate.ladder.table import REPLAY_LINES, ladder_table, remedies
from tests.test_plugin import CONFIG
from tests.tiny import write_triage_file


def _beats(base: str, delta: float, low: float, high: float, verdict: str) -> GateCheck:
    return GateCheck(f"beats {base} on field_macro_f1", verdict, "", delta=delta, interval=(low, high), n=155)  # type: ignore[arg-type]


def _decision(general: str = "fail", forgetting: str = "pass", floor: str = "fail") -> LadderDecision:
    prompt = RungVerdict("prompt-only", "prompt", RungCost("prompt", 230, 19, 0.21), floor,  # type: ignore[arg-type]
                         [GateCheck("schema_valid floor", floor, "schema_valid 0.574 < floor 0.950")], {}, [], None, 0.443)  # type: ignore[arg-type]
    rag = RungVerdict("rag", "rag", RungCost("rag", 272, 20, 0.56), "pass",
                      [GateCheck("schema_valid floor", "pass", ""), GateCheck("held-out leakage", "pass", "")],
                      {"prompt-only": "pass"}, [_beats("prompt-only", 0.225, 0.154, 0.290, "pass")], "train.jsonl", 0.572)
    tuned = RungVerdict("fine-tuned", "adapter", RungCost("adapter", 55, 20, 0.21, 287), "fail",
                        [GateCheck("held-out leakage", "pass", ""),
                         GateCheck("general capability (general_pass)", general, "", delta=-0.340, interval=(-0.43, -0.25)),  # type: ignore[arg-type]
                         GateCheck("forgetting (token loss)", forgetting, "", delta=0.065)],  # type: ignore[arg-type]
                        {"prompt-only": "pass", "rag": "inconclusive"},
                        [_beats("prompt-only", 0.240, 0.184, 0.294, "pass"), _beats("rag", 0.015, -0.060, 0.096, "inconclusive"),
                         GateCheck("fields no worse than rag", "fail", "needs_human -0.147")], "/c/ft-1", 0.671)
    return LadderDecision("deploy", "triage", "rag", "rag", [prompt, rag, tuned],
                          ["deploy rag: fine-tuned is not eligible: general capability: regression", "other reason"],
                          [GateCheck("data", "pass", "", n=155, threshold=50)], "2026-12-04T00:00:00+00:00",
                          rules={"primary": "field_macro_f1"})


def test_the_table_has_per_rung_metric_intervals_checks_cost_and_the_chosen_rung_in_one_sentence():
    lines = ladder_table(_decision())
    header, prompt, rag, tuned, tuned_more, chosen = lines
    assert header.split()[:3] == ["rung", "kind", "field_macro_f1"] and "training" in header
    assert prompt.split()[:3] == ["prompt-only", "prompt", "0.443"] and "schema_valid floor FAIL" in prompt
    assert "prompt-only +0.225 [+0.154, +0.290] pass" in rag and "272" in rag and "0.56 s" in rag
    assert "general capability FAIL" in tuned and "forgetting pass" in tuned and tuned.rstrip().endswith("287 s")
    assert tuned_more.strip() == "rag +0.015 [-0.060, +0.096] INCONCLUSIVE (fields FAIL)"
    assert chosen == "chosen: rag (deploy rag: fine-tuned is not eligible: general capability: regression)"
    column = header.index("vs each cheaper rung")  # aligned: every comparison starts under its header
    assert rag[column:].startswith("prompt-only +0.225") and tuned_more[column:].startswith("rag +0.015")


def test_rejections_name_their_remedy_with_the_lora_yaml_lines_for_replay():
    lines = remedies(_decision(), {"fine-tuned": False})
    text = "\n".join(lines)
    assert "remedy: prompt-only fails schema_valid 0.574 < floor 0.950: give it worked examples" in text
    assert "few_shot:" in text and "`harness train`" in text
    assert "remedy: fine-tuned fails general capability (general_pass): train with replay" in text
    assert [line.strip() for line in lines if line.startswith("    ")] == [line.strip() for line in REPLAY_LINES]
    assert "note: general capability fell (-0.340) while token loss on general text stayed within tolerance (+0.065)" in text
    assert "the task's format leaks into general answers" in text


def test_with_replay_already_on_the_remedy_is_a_stronger_anchor_and_agreeing_checks_get_no_note():
    text = "\n".join(remedies(_decision(forgetting="fail", floor="pass"), {"fine-tuned": True}))
    assert "although it trained with replay: raise replay.kl_weight" in text and "kb_weight" not in text
    assert "note:" not in text and "prompt-only fails" not in text and "builtin:replay" not in text


def test_a_fine_tune_under_the_floor_is_told_to_train_longer():
    decision = _decision(general="pass", floor="pass")
    decision.rungs[2].checks.append(GateCheck("schema_valid floor", "fail", "schema_valid 0.000 < floor 0.950"))
    assert remedies(decision) == ["remedy: fine-tuned fails schema_valid 0.000 < floor 0.950: the fine-tune has not learnt "
                                  "the format; train longer (training.epochs) or on more examples, and read its loss "
                                  "curve (metrics.jsonl in the candidate folder)"]


def test_a_set_too_small_points_to_eval_split():
    decision = _decision(general="pass", floor="pass")
    decision.checks = [GateCheck("data", "inconclusive", "only 12 cases", n=12, threshold=50)]
    assert remedies(decision)[0].startswith("remedy: only 12 held-out cases for min_cases 50: re-split with "
                                            "`harness init --data DATA --task TASK --eval-split S --force`")


def test_an_older_ladder_decision_without_primary_values_still_renders():
    data = _decision().to_dict()
    for rung in data["rungs"]:
        del rung["primary"]
    lines = ladder_table(LadderDecision.from_dict(data))
    assert lines[1].split()[:3] == ["prompt-only", "prompt", "-"]


@pytest.mark.slow
def test_changed_general_items_show_base_against_candidate(tmp_path, tiny_checkpoint, tiny_adapters, monkeypatch):
    monkeypatch.setenv("HARNESS_CACHE_DIR", str(tmp_path / "cache"))
    items = tmp_path / "items.jsonl"
    items.write_text("".join(json.dumps({"id": f"g{i}", "kind": "instruction", "prompt": f"Say the word number {i}.",
                                         "checks": [{"type": "max_words", "n": 50}]}) + "\n" for i in range(4)))
    write_triage_file(tmp_path / "heldout.jsonl", 8)
    (tmp_path / "harness.yaml").write_text(CONFIG.format(model=tiny_checkpoint).replace(
        "  n_resamples: 500\n", f"  n_resamples: 500\n  general: {{items: {items}, max_new_tokens: 4}}\n"))
    config = load_eval_config(tmp_path / "harness.yaml")
    assert isinstance(config.rules, GateRules)
    backend = make_backend(config)
    changed = changed_general_items(config, config.rules, "fine-tuned", tiny_adapters["a"], backend,
                                    EvalOptions(runs_dir=tmp_path / "runs"), count=3)
    assert 0 < len(changed) <= 3  # a random adapter changes a random model's answers
    assert all(item.base != item.candidate and item.question.startswith("Say the word number") for item in changed)
    lines = changed[0].lines()
    assert lines[0].startswith("    item: 'Say the word number") and lines[1].startswith("      base:      '")
    assert lines[2].startswith("      candidate: '") and lines[2].endswith(("(pass)", "(FAIL)", "(unscored)"))


def test_the_gates_table_names_the_remedy_too(tmp_path):
    """`harness gate` (and `registry show`) print the same remedies under their table: replay for a forgetting failure."""
    from harness.gate.decision import Decision, decision_table

    (tmp_path / "adapter_config.json").write_text("{}")
    (tmp_path / "manifest.json").write_text(json.dumps({"task": "triage", "data": {"dataset": "train.jsonl"}}))
    checks = [GateCheck("data", "pass", "", n=155, threshold=50),
              GateCheck("general capability (general_pass)", "fail", "regression", delta=-0.34, interval=(-0.43, -0.25)),
              GateCheck("forgetting (token loss)", "pass", "within", delta=0.065)]
    decision = Decision(verdict="rejected", checks=checks, task="triage", candidate="triage-1",
                        created_at="2026-12-04T00:00:00+00:00", candidate_path=str(tmp_path))
    table = decision_table(decision).splitlines()
    verdict = table.index("verdict: REJECTED (triage-1, task triage)")
    assert table[verdict + 1] == ("remedy: triage-1 fails general capability (general_pass): train with replay against "
                                  "forgetting; add to lora.yaml:")
    assert [line.strip() for line in table[verdict + 2: verdict + 8]] == [line.strip() for line in REPLAY_LINES]
    assert table[verdict + 8].startswith("note: general capability fell (-0.340) while token loss")
    (tmp_path / "manifest.json").write_text(json.dumps({"task": "triage", "data": {"replay": {"share": 1.0}}}))
    assert "although it trained with replay" in decision_table(decision)
