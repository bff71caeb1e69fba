"""The tone scorer: style strength x meaning kept x fluency per case, its classifier's evidence and refusal.

Fast tests use synthetic embeddings (the refusal rule, the axes' mappings, the config); the
slow ones use the real all-MiniLM-L6-v2 on the house-style data and a tiny random model for
fluency (the mechanics of the fluency axis, not its quality).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from harness.cli.main import main
from harness.config.eval_config import load_eval_config
from harness.errors import ConfigError
from harness.eval.cases import load_cases
from harness.records import Case, CaseResult, Generation
from harness.scorers.base import make_scorer
from harness.scorers.scoring import score_results
from harness.scorers.tone import ToneScorer
from harness.scorers.tone_axes import FluencyReference, fluency, kept
from harness.scorers.tone_classifier import expected_calibration_error, fit_classifier, is_heldout
from harness.scorers.tone_config import ToneSection
from harness.scorers.tone_model import load_tone_model

SUITE = Path(__file__).resolve().parents[1] / "suites" / "house_style"
TRAIN, HELDOUT, RULES = SUITE / "data" / "split" / "train.jsonl", SUITE / "data" / "split" / "heldout.jsonl", SUITE / "style.yaml"


def _unit(rows: np.ndarray) -> np.ndarray:
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


# -- the classifier's evidence and the refusal rule (synthetic embeddings: no model) --------------------------------


def test_a_classifier_that_separates_the_styles_records_its_heldout_accuracy_and_calibration():
    rng = np.random.default_rng(0)
    target, contrast = _unit(rng.normal(0.4, 1, (100, 8))), _unit(rng.normal(-0.4, 1, (100, 8)))
    held = [i % 4 == 0 for i in range(200)]
    fitted = fit_classifier(target, contrast, held, min_heldout=30)
    assert fitted.refused is None and fitted.classifier is not None and fitted.heldout is not None
    assert fitted.heldout.n == 50 and fitted.n_train == 150
    assert fitted.heldout.low > fitted.heldout.chance and fitted.heldout.accuracy > 0.8
    assert 0 <= fitted.heldout.brier < 0.25 and 0 <= fitted.heldout.ece < 0.5


def test_a_classifier_that_cannot_tell_the_styles_apart_is_refused_with_its_interval():
    rng = np.random.default_rng(1)
    same = _unit(rng.normal(0, 1, (200, 8)))
    fitted = fit_classifier(same[:100], same[100:], [i % 4 == 0 for i in range(200)], min_heldout=30)
    assert fitted.refused is not None and "reaches chance" in fitted.refused
    assert fitted.heldout is not None and fitted.heldout.low <= fitted.heldout.chance


def test_too_few_heldout_examples_is_a_refusal_not_a_pass():
    rng = np.random.default_rng(2)
    target, contrast = _unit(rng.normal(1, 1, (40, 8))), _unit(rng.normal(-1, 1, (40, 8)))
    fitted = fit_classifier(target, contrast, [i % 10 == 0 for i in range(80)], min_heldout=30)
    assert fitted.refused is not None and "only 8 held-out examples" in fitted.refused and fitted.heldout is None


def test_the_heldout_split_is_a_stable_hash_of_the_text():
    texts = [f"reply number {i}" for i in range(2000)]
    first = [is_heldout(t, 0.2) for t in texts]
    assert first == [is_heldout(t, 0.2) for t in texts] and 0.17 < np.mean(first) < 0.23


def test_calibration_error_is_zero_for_calibrated_probabilities_and_large_for_confident_wrong_ones():
    p = np.array([0.05] * 20 + [0.95] * 20)
    assert expected_calibration_error(p, np.array([0] * 19 + [1] + [1] * 19 + [0])) < 1e-9
    assert expected_calibration_error(p, np.array([1] * 20 + [0] * 20)) > 0.9


# -- the axes' mappings -------------------------------------------------------------------------------------------


def test_meaning_maps_chance_to_zero_and_the_top_anchor_to_one():
    assert kept(0.15, 0.15, 1.0) == 0.0 and kept(0.05, 0.15, 1.0) == 0.0
    assert kept(1.0, 0.15, 1.0) == 1.0 and kept(0.575, 0.15, 1.0) == pytest.approx(0.5)
    assert kept(0.9, 0.1, 0.5) == 1.0  # against the input: as close as a matched pair or closer is full marks


def test_fluency_is_one_for_reference_like_loss_and_falls_to_zero_past_every_reference():
    reference = FluencyReference("m", tuple(float(x) for x in np.linspace(2.0, 4.0, 101)))
    assert fluency(2.5, reference) == 1.0 and fluency(3.5, reference) == 1.0
    assert fluency(3.9, reference) == pytest.approx(0.24, abs=0.02)
    assert fluency(9.0, reference) == 0.0 and fluency(None, reference) == 0.0


# -- the config ---------------------------------------------------------------------------------------------------


def _config(tmp_path: Path, tone: str, gate: str = "") -> Path:
    path = tmp_path / "harness.yaml"
    path.write_text(f"task: house_style\ncases: {HELDOUT}\nvariants:\n  a: {{kind: prompt, system: s}}\n"
                    f"  b: {{kind: adapter, adapter: 'current:house_style'}}\nscoring:\n  style: {RULES}\n  tone: {tone}\n{gate}")
    return path


def test_scoring_tone_is_checked_and_takes_the_model_and_rules_as_defaults(tmp_path):
    config = load_eval_config(_config(tmp_path, f"{{train: {TRAIN}, meaning: both}}",
                                      "gate: {candidate: b, baselines: [a], primary: tone_joint}\n"))
    tone = config.scoring.tone
    assert tone is not None and tone.meaning == "both" and tone.fluency and tone.contrast_inputs
    assert tone.fluency_model == config.model and tone.rules == str(RULES)
    assert config.rules is not None and config.rules.primary == "tone_joint"


@pytest.mark.parametrize(("tone", "message"), [
    (f"{{train: {TRAIN}, meaning: sideways}}", "scoring.tone.meaning must be one of input, reference, both"),
    ("{meaning: input}", "train"),
    (f"{{train: {TRAIN}, heldout_share: 0.9}}", "scoring.tone.heldout_share must be >= 0.05 and <= 0.5"),
])
def test_a_bad_tone_section_is_a_config_error_at_its_line(tmp_path, tone, message):
    with pytest.raises(ConfigError) as error:
        load_eval_config(_config(tmp_path, tone))
    assert message in str(error.value) and ":8:" in str(error.value)


def test_fluency_on_an_endpoint_model_is_refused_with_the_fix():
    with pytest.raises(ConfigError, match="tone.fluency needs a model that loads here"):
        make_scorer("tone", config=ToneSection(train=str(TRAIN), fluency_model="openai:gpt"))


# -- the real scorer: MiniLM embeddings, a tiny model for fluency --------------------------------------------------


@pytest.fixture(scope="module")
def scorer(tiny_checkpoint, tmp_path_factory) -> ToneScorer:
    config = ToneSection(train=str(TRAIN), rules=str(RULES), fluency_model=str(tiny_checkpoint),
                         store=str(tmp_path_factory.mktemp("tone")))
    built = make_scorer("tone", config=config).scorer
    assert isinstance(built, ToneScorer)
    return built


@pytest.fixture(scope="module")
def cases() -> list[Case]:
    return load_cases(str(HELDOUT), "house_style")


def _mean_scores(scorer: ToneScorer, cases: list[Case], texts: list[str]) -> dict[str, float]:
    scorer.prepare(list(zip(cases, texts, strict=True)))
    rows = [{s.metric: s.value for s in scorer.score_text(c, t)} for c, t in zip(cases, texts, strict=True)]
    return {metric: float(np.mean([r[metric] for r in rows])) for metric in rows[0]}


@pytest.mark.slow
def test_the_fitted_tone_model_is_stored_with_its_data_and_heldout_evidence(scorer):
    model = scorer.model()
    assert model.refused is None and model.heldout is not None and model.classifier is not None
    assert model.heldout.low > model.heldout.chance and model.heldout.n >= 30
    assert {s.role for s in model.data} == {"target", "inputs"} and all(len(s.sha256) == 64 for s in model.data)
    stored = load_tone_model(Path(scorer.config.store or "") / f"{model.key[:16]}.json")
    assert stored == model  # the card on disk is the model that scores


@pytest.mark.slow
def test_references_score_high_and_every_degenerate_reply_near_zero(scorer, cases):
    references = _mean_scores(scorer, cases, [c.reference or "" for c in cases])
    assert references["tone_joint"] > 0.5 and references["tone_style"] > 0.7 and references["tone_meaning"] == 1.0
    fixed = ("Open Settings > Members > Invite, enter the email address and choose the role; the invite link stays "
             "valid for seven days.")  # in the house voice and within the rules: only meaning can catch it
    degenerate = {
        "empty": [""] * len(cases),
        "input echoed": [c.user_text for c in cases],
        "one fixed sentence": [fixed] * len(cases),
        "another case's reference": [cases[(i + 1) % len(cases)].reference or "" for i in range(len(cases))],
    }
    for name, texts in degenerate.items():
        joint = _mean_scores(scorer, cases, texts)["tone_joint"]
        assert joint < 0.1, f"{name}: tone_joint {joint:.3f}"
        assert joint < references["tone_joint"] / 5, name


@pytest.mark.slow
def test_a_broken_rule_makes_the_joint_zero_whatever_the_axes_say(scorer, cases):
    case = cases[0]
    scores = {s.metric: s for s in scorer.score_text(case, (case.reference or "") + " I hope this helps!")}
    assert scores["tone_joint"].value == 0.0 and "rule broken" in (scores["tone_joint"].detail or "")
    assert (scores["tone_style"].value or 0) > 0 and (scores["tone_meaning"].value or 0) > 0.5


@pytest.mark.slow
def test_scoring_a_run_fills_every_tone_metric_through_the_batch_step(scorer, cases):
    results = [CaseResult(c, Generation(c.id, "v", text=c.reference)) for c in cases[:5]]
    results.append(CaseResult(cases[5], Generation(cases[5].id, "v", text=None, error="boom")))
    score_results(results, [make_scorer("tone", config=scorer.config)])
    assert all({s.metric for s in r.scores} == set(ToneScorer.metrics) for r in results)
    assert [(s.metric, s.detail) for r in results[:5] for s in r.scores if s.value is None] == []
    assert all(s.value is None and "boom" in (s.detail or "") for s in results[5].scores)


@pytest.mark.slow
def test_a_refused_classifier_scores_nothing_and_says_why(tmp_path, write_jsonl, cases):
    examples = [json.loads(line) for line in TRAIN.read_text().splitlines()]
    train = write_jsonl("train.jsonl", examples[::2])
    off_style = write_jsonl("same_style.jsonl", examples[1::2])  # more house replies: no style to tell apart
    config = ToneSection(train=str(train), off_style=str(off_style), contrast_inputs=False, fluency=False,
                         store=str(tmp_path / "store"))
    refused = make_scorer("tone", config=config).scorer
    assert isinstance(refused, ToneScorer)
    model = refused.model()
    assert model.refused is not None and "cannot tell the styles apart" in model.refused
    scores = refused.score_text(cases[0], cases[0].reference or "")
    assert all(s.value is None and "refused" in (s.detail or "") for s in scores)


@pytest.mark.slow
def test_calibrate_takes_the_tone_scorer_in_place_of_a_judge(tmp_path, tiny_checkpoint, scorer, write_jsonl, cases,
                                                             capsys):
    config = tmp_path / "harness.yaml"
    config.write_text(f"task: house_style\nmodel: {tiny_checkpoint}\ncases: {HELDOUT}\nvariants:\n"
                      f"  a: {{kind: prompt, system: s}}\nscoring:\n  style: {RULES}\n"
                      f"  tone: {{train: {TRAIN}, store: {scorer.config.store}}}\n")  # the fitted model: loaded, not refitted
    first = list(enumerate(cases[:20]))
    good = [{"id": f"r{i}", "input": c.user_text, "output": c.reference or "", "variant": "ref"} for i, c in first]
    bad = [{"id": f"e{i}", "input": c.user_text, "output": c.user_text, "variant": "echo"} for i, c in first]
    replies = write_jsonl("replies.jsonl", good + bad)
    labels = tmp_path / "labels.csv"
    labels.write_text("id,variant,rater,human\n" + "".join(f"{r['id']},{r['variant']},x,{5 if r['variant'] == 'ref' else 1}\n"
                                                          for r in good + bad))
    code = main(["calibrate", str(labels), "--tone", str(config), "--replies", str(replies), "--tone-scores",
                 str(tmp_path / "tone.jsonl"), "--format", "json"])
    report = json.loads(capsys.readouterr().out)
    assert code in (0, 1) and report["judge_identity"].startswith("tone:") and report["n"] == 40
    assert report["unscored"] == 0 and report["spearman"]["value"] > 0.5
    written = [json.loads(line) for line in (tmp_path / "tone.jsonl").read_text().splitlines()]
    assert {r["id"] for r in written} == {r["id"] for r in good + bad} and all(r["judge"] in range(1, 6) for r in written)


def test_a_refused_tone_model_makes_the_gate_inconclusive_and_says_why():
    from harness.config.gate import GateRules
    from harness.gate.checks import primary_check
    from harness.records import Score

    why = "tone model abc refused: the style classifier cannot tell the styles apart"

    def unscored(variant: str) -> list[CaseResult]:
        return [CaseResult(Case(f"c{i:03}", "t", (), "ref"), Generation(f"c{i:03}", variant, text="x"),
                           [Score("tone_joint", None, why)]) for i in range(60)]

    rules = GateRules(candidate="ft", baselines=("prompt",), primary="tone_joint", min_cases=50, n_resamples=200)
    check = primary_check("prompt", {"ft": unscored("ft"), "prompt": unscored("prompt")}, rules)
    assert check.verdict == "inconclusive" and why in check.explanation


def test_calibrate_with_tone_needs_the_replies(tmp_path, capsys):
    labels = tmp_path / "labels.csv"
    labels.write_text("id,human\na,3\n")
    assert main(["calibrate", str(labels), "--tone", str(tmp_path / "harness.yaml")]) == 2
    assert "--tone needs --replies FILE" in capsys.readouterr().err
