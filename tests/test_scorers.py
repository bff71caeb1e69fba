"""Every scorer: what it scores, its direction, and could-not-score as None with a reason."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.records import Case, Generation
from harness.scorers import SCORERS, make_scorer

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = '{"category": "billing", "priority": "high", "needs_human": true}'


def case(reference=REFERENCE, **metadata) -> Case:
    return Case("id", "t", ({"role": "user", "content": "q"},), reference, metadata)


def gen(text, error=None) -> Generation:
    return Generation("id", "v", text=text, error=error)


def scores(scorer, case_, generation) -> dict:
    return {s.metric: s.value for s in scorer.score(case_, generation)}


def test_registry_refuses_unknown_names_with_the_known_ones():
    from harness.errors import ConfigError

    with pytest.raises(ConfigError, match="unknown scorer 'nope'; known: answer_check, exact_match"):
        make_scorer("nope")
    assert {"schema", "fields", "style", "exact_match", "answer_check", "general_checks"} <= set(SCORERS)


def test_schema_strict_and_lenient_are_separate_metrics():
    scorer = make_scorer("schema", schema=ROOT / "suites/triage/schema.json")
    assert scorer.metrics == {"schema_valid": True, "schema_valid_lenient": True}
    assert scores(scorer, case(), gen(REFERENCE)) == {"schema_valid": 1.0, "schema_valid_lenient": 1.0}
    fenced = f"```json\n{REFERENCE}\n```"
    assert scores(scorer, case(), gen(fenced)) == {"schema_valid": 0.0, "schema_valid_lenient": 1.0}
    chatty = f"Sure! Here it is: {REFERENCE} Hope this helps."
    assert scores(scorer, case(), gen(chatty)) == {"schema_valid": 0.0, "schema_valid_lenient": 1.0}
    wrong_enum = REFERENCE.replace("billing", "money")
    assert scores(scorer, case(), gen(wrong_enum)) == {"schema_valid": 0.0, "schema_valid_lenient": 0.0}


def test_failed_generation_is_unscored_not_zero():
    for name, options in (("schema", {"schema": ROOT / "suites/triage/schema.json"}), ("fields", {"fields": ["a"]}),
                          ("exact_match", {}), ("answer_check", {}), ("general_checks", {})):
        values = make_scorer(name, **options).score(case(accept=["x"], checks=[{"type": "no_commas"}]),
                                                    gen(None, error="HTTP 500"))
        assert values and all(s.value is None and "HTTP 500" in s.detail for s in values)


def test_field_accuracy_gives_partial_credit_and_zero_for_invalid_output():
    scorer = make_scorer("fields", fields=["category", "priority", "needs_human"])
    partial = json.dumps({"category": "billing", "priority": "low", "needs_human": True})
    assert scores(scorer, case(), gen(partial)) == {"field:category": 1.0, "field:priority": 0.0,
                                                    "field:needs_human": 1.0, "field_mean": pytest.approx(2 / 3)}
    assert scores(scorer, case(), gen("not json"))["field_mean"] == 0.0
    assert not scorer.applies(case(reference="plain text"))


def test_exact_match_and_answer_check():
    assert scores(make_scorer("exact_match"), case(), gen(REFERENCE.upper()))["exact_match"] == 1.0
    check = make_scorer("answer_check")
    facts = case(reference="It is $13.50.", accept=["$13.50", "13.50 USD"])
    assert scores(check, facts, gen("The Team plan costs  $13.50 per seat."))["answer_correct"] == 1.0
    assert scores(check, facts, gen("It costs $12."))["answer_correct"] == 0.0
    assert not check.applies(case())


def test_house_style_reads_rules_from_data(tmp_path):
    rules = tmp_path / "style.yaml"
    rules.write_text("min_words: 3\nmax_words: 12\nbanned_phrases: [i'm sorry for any]\nbanned_patterns: ['!']\n")
    scorer = make_scorer("style", rules=rules)
    assert scorer.metrics["style_violations"] is False  # lower is better
    good = scores(scorer, case(reference="Open Settings > Members and click Invite."),
                  gen("Open Settings > Members, then click Invite."))
    assert good["style_pass"] == 1.0 and good["style_violations"] == 0.0 and good["style_similarity"] > 0.5
    bad = scores(scorer, case(reference="Open Settings."), gen("I'm sorry for any inconvenience! I am here to help you today."))
    assert bad["style_pass"] == 0.0 and bad["style_violations"] == 2.0


@pytest.mark.parametrize(("check", "text", "expected"), [
    ({"type": "contains_any", "values": ["Paris"]}, "It is paris.", True),
    ({"type": "contains_all", "values": ["red", "blue"]}, "red and green", False),
    ({"type": "not_contains", "values": ["sorry"]}, "Sorry!", False),
    ({"type": "number", "value": 1200}, "It is 1,200 in total.", True),
    ({"type": "number", "value": -3}, "minus: -3", True),
    ({"type": "regex", "pattern": r"^yes\b"}, "Yes, it is.", True),
    ({"type": "max_words", "n": 3}, "one two three four", False),
    ({"type": "min_words", "n": 2}, "one two", True),
    ({"type": "lowercase"}, "all lower here", True),
    ({"type": "uppercase"}, "NOT All", False),
    ({"type": "no_commas"}, "a, b", False),
    ({"type": "starts_with", "value": "No"}, "  no way", True),
    ({"type": "ends_with", "value": "done."}, "All done.", True),
    ({"type": "json_object", "keys": ["name", "age"]}, '{"name": "A", "age": 3}', True),
    ({"type": "line_count", "min": 3, "max": 3}, "a\nb\n\nc", True),
])
def test_general_checks(check, text, expected):
    scorer = make_scorer("general_checks")
    assert scores(scorer, case(reference=None, checks=[check]), gen(text))["general_pass"] == float(expected)


def test_an_unknown_item_check_type_is_refused_before_generation_at_its_line(tmp_path):
    from harness.errors import InputError
    from harness.eval.cases import load_cases

    items = tmp_path / "items.jsonl"
    items.write_text('{"id": "a", "kind": "k", "prompt": "p", "checks": [{"type": "max_words", "n": 3}]}\n'
                     '{"id": "b", "kind": "k", "prompt": "p", "checks": [{"type": "max_wrds", "n": 3}]}\n')
    cases = load_cases(items, "general")  # the loader checks the shape only; it does not know the check types
    with pytest.raises(InputError, match="unknown check type 'max_wrds'; known: contains_any") as info:
        make_scorer("general_checks").check_cases(cases)
    assert info.value.path == str(items) and info.value.line == 2


def test_a_generation_without_text_is_unscored_by_the_one_guard():
    for name, options in (("exact_match", {}), ("general_checks", {}), ("fields", {"fields": ["a"]})):
        values = make_scorer(name, **options).score(case(reference='{"a": 1}', checks=[{"type": "no_commas"}]),
                                                     Generation("c", "v", text=None, error="timeout"))
        assert values and all(s.value is None and s.detail == "generation failed: timeout" for s in values)
