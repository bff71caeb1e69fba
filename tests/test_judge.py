"""The rubric judge: strict parsing, the judge identity, the cache, pairwise in both orders.

The judge runs on the real OpenAI-compatible backend against the scripted stub server on
127.0.0.1 (a real server whose answers the test chooses), and once on a tiny random model.
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import pytest

from harness.errors import ConfigError, InputError
from harness.eval.backends.openai_compat import OpenAICompatibleBackend
from harness.eval.cache import GenerationCache
from harness.judge import Judge, JudgeItem, load_rubric
from harness.judge.probes import input_pairs, position_probe
from harness.judge.prompts import absolute_messages, parse_absolute, parse_pairwise
from tests.stub_openai_server import Call, Reply, completion, stub_server

RUBRIC = Path(__file__).resolve().parents[1] / "suites/house_style/judge/rubric.yaml"


@pytest.fixture(scope="module")
def rubric():
    return load_rubric(RUBRIC)


@pytest.mark.parametrize("raw, score", [("Score: 4\nReason: Exact path, no filler.", 4),
                                        ("score: 2\n\nReason: greeting and filler", 2),
                                        ("```\nScore: 5\nReason: fine\n```", 5)])
def test_well_formed_verdicts_parse(rubric, raw, score) -> None:
    verdict = parse_absolute(raw, rubric)
    assert (verdict.score, verdict.error) == (score, None) and verdict.reason


@pytest.mark.parametrize("raw, why", [("I'm sorry, I can't grade this.", "expected 2 lines"),
                                      ("Score: 9\nReason: great", "outside 1-5"),
                                      ("Score: four\nReason: ok", "not 'Score: N'"),
                                      ("Score: 4\nReason: ok\nAlso it is long.", "expected 2 lines"),
                                      ("The score is 4 because\nit is fine", "not 'Score: N'"),
                                      (None, "generation failed")])
def test_unparseable_verdict_is_unscored_with_raw_text_kept(rubric, raw, why) -> None:
    verdict = parse_absolute(raw, rubric)
    assert verdict.score is None and verdict.raw == raw and why in (verdict.error or "")


def test_pairwise_parse_is_strict() -> None:
    assert parse_pairwise("Winner: b\nReason: shorter").winner == "B"
    assert parse_pairwise("Winner: both\nReason: tie").winner is None
    assert parse_pairwise("A").error == "expected 2 lines, got 1"


def test_rubric_errors_name_the_problem(tmp_path) -> None:
    bad = tmp_path / "r.yaml"
    bad.write_text("name: x\nscale: {min: 1, max: 3}\ninstructions: i\nlevels: {1: a, 3: c}\n")
    with pytest.raises(ConfigError, match="levels lack a description for 2"):
        load_rubric(bad)
    with pytest.raises(InputError, match="not found"):
        load_rubric(tmp_path / "missing.yaml")


def test_prompt_shows_rubric_and_item(rubric) -> None:
    messages = absolute_messages(rubric, "Where are invoices?", "Settings > Billing > Invoices.")
    assert "5: Follows every rule" in messages[0]["content"] and messages[-1]["role"] == "user"
    assert "Settings > Billing > Invoices." in messages[-1]["content"]


def _scripted(call: Call) -> Reply:
    """A judge that scores by the reply's length and always prefers the reply shown first (position bias)."""
    text = call.user_text
    if "Reply A:" in text:
        return Reply(body=completion("Winner: A\nReason: the first one."))
    reply = re.search(r"Reply to grade:\n(.*)\n\nGrade", text, re.S).group(1)
    if "garbage" in reply:
        return Reply(body=completion("I cannot grade this reply, sorry."))
    return Reply(body=completion(f"Score: {min(5, len(reply.split()))}\nReason: length."))


ITEMS = [JudgeItem("a", "q1", "one two three", "x"), JudgeItem("b", "q1", "garbage here", "y"),
         JudgeItem("c", "q1", "one two three four five six", "z")]


def test_judge_scores_through_the_cache_under_its_identity(rubric, tmp_path) -> None:
    with stub_server(_scripted) as (base_url, stats):
        cache = GenerationCache(tmp_path / "cache.sqlite")
        judge = Judge(OpenAICompatibleBackend(base_url=base_url, model="stub-judge"), rubric, cache)
        scores = judge.score(ITEMS)
        assert [s.judge for s in scores] == [3, None, 5]
        assert scores[1].raw == "I cannot grade this reply, sorry." and scores[1].error
        assert {s.judge_identity for s in scores} == {judge.identity} and scores[0].rubric_sha256 == rubric.sha256
        assert [s.judge for s in judge.score(ITEMS)] == [3, None, 5] and stats.requests == 3  # all cached
        other = Judge(judge.backend, replace(rubric, sha256="0" * 64), cache)
        assert other.identity != judge.identity
        other.score(ITEMS)
        assert stats.requests == 6  # another judge identity never reads the first one's verdicts


def test_pairs_run_in_both_orders_and_position_bias_is_measured(rubric) -> None:
    with stub_server(_scripted) as (base_url, stats):
        judge = Judge(OpenAICompatibleBackend(base_url=base_url, model="stub-judge"), rubric)
        pairs = input_pairs(ITEMS)
        outcomes = judge.compare(pairs)
    assert len(pairs) == 3 and stats.requests == 6
    assert all(o.forward.winner == "A" and o.backward.winner == "A" and o.preferred is None for o in outcomes)
    probe = position_probe(outcomes)
    assert probe["first_wins"]["rate"] == 1.0 and probe["order_consistency"] == 0.0


@pytest.mark.slow
def test_tiny_random_model_verdicts_are_unscored_not_low(rubric, tiny_checkpoint) -> None:
    from harness.eval.backends.local import LocalBackend

    judge = Judge(LocalBackend(str(tiny_checkpoint), batch_size=2), rubric,
                  decoding=replace(Judge.decoding, max_new_tokens=8))
    scores = judge.score(ITEMS[:2])
    assert all(s.judge is None and s.raw is not None and s.error for s in scores)


def test_verbosity_probe_counts_only_equally_rated_pairs_of_different_length() -> None:
    from harness.judge.probes import verbosity_probe
    from harness.judge.records import PairOutcome, PairVerdict

    def v(w):
        return PairVerdict(w, "r", f"Winner: {w}", None)

    rows = [(PairOutcome("short", "long", v("B"), v("A")), 10, 40),   # equal humans: the longer wins twice
            (PairOutcome("s2", "l2", v("A"), v("A")), 12, 30),        # position-biased: one each way
            (PairOutcome("x", "y", v("B"), v("A")), 10, 40)]          # humans differ: not counted
    human = {"short": 4, "long": 4, "s2": 3, "l2": 3, "x": 5, "y": 2}
    probe = verbosity_probe(rows, human)["longer_wins"]
    assert probe["n"] == 4 and probe["rate"] == 0.75


def test_retest_probe_matches_sklearn() -> None:
    from sklearn.metrics import cohen_kappa_score

    from harness.judge.probes import retest_probe

    first = {"a": 1, "b": 2, "c": 3, "d": 5, "e": None}
    second = {"a": 1, "b": 3, "c": 3, "d": 4, "e": 2}
    probe = retest_probe({1: first, 2: second}, [1, 2, 3, 4, 5])
    assert probe["n"] == 4 and probe["exact_agreement"] == 0.5
    assert probe["quadratic_weighted_kappa"] == cohen_kappa_score([1, 2, 3, 5], [1, 3, 3, 4], labels=[1, 2, 3, 4, 5],
                                                                  weights="quadratic")
