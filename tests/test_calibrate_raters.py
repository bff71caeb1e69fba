"""The judge against every rater: per-rater figures, the human ceiling, the alternative annotator test, low agreement."""

from __future__ import annotations

import csv
import json
import math
import random
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from harness.cli.main import main
from harness.judge.agreement import agreement
from harness.judge.alt_test import alt_test
from harness.judge.calibrate import Threshold, calibrate
from harness.judge.labels import Label, LabelSet, read_labels

SCALE = [1, 2, 3, 4, 5]
SHIPPED = Path(__file__).resolve().parents[1] / "suites" / "house_style" / "judge" / "labels.csv"


def three_raters(n: int = 60, judge_noise: float = 0.25, seed: int = 0) -> list[Label]:
    """Three raters who each move the true score by one step with probability 0.3; the judge with ``judge_noise``."""
    rng = np.random.default_rng(seed)
    truth = rng.integers(1, 6, n)

    def noisy(p: float) -> np.ndarray:
        return np.clip(truth + np.where(rng.random(n) < p, rng.choice([-1, 1], n), 0), 1, 5)

    raters = {name: noisy(0.3) for name in ("ann", "bob", "cy")}
    judge = noisy(judge_noise)
    return [Label(f"i{i:03d}", int(v[i]), int(judge[i]), rater=name, line=k * n + i + 2)
            for k, (name, v) in enumerate(raters.items()) for i in range(n)]


def _figures(labels: list[Label], **kwargs: object) -> dict:
    data = calibrate(LabelSet(labels, "x"), SCALE, n_resamples=200, **kwargs).to_dict()  # type: ignore[arg-type]
    del data["created_at"]
    return data


def test_shuffling_the_rows_changes_no_figure() -> None:
    labels = three_raters()
    shuffled = labels.copy()
    random.Random(7).shuffle(shuffled)
    assert shuffled != labels
    assert _figures(shuffled) == _figures(labels)


def test_per_rater_rows_are_agreement_against_the_right_people() -> None:
    labels = three_raters()
    result = calibrate(LabelSet(labels, "x"), SCALE, n_resamples=200)
    by = {(x.rater, x.id): x.human for x in labels}
    judge = {x.id: x.judge for x in labels}
    items = sorted(judge)
    ann = next(r for r in result.raters if r.rater == "ann")
    others = [int(round(np.median([by[("bob", i)], by[("cy", i)]]))) for i in items]  # half to even, as documented
    expected_judge = agreement(np.array(others), np.array([judge[i] for i in items]), SCALE, n_resamples=200)
    expected_rater = agreement(np.array(others), np.array([by[("ann", i)] for i in items]), SCALE, n_resamples=200)
    assert ann.judge_vs_others is not None and ann.rater_vs_others is not None
    assert ann.judge_vs_others.statistics == expected_judge and ann.judge_vs_others.n == len(items)
    assert ann.rater_vs_others.statistics == expected_rater
    consensus = [int(np.median([by[(r, i)] for r in ("ann", "bob", "cy")])) for i in items]
    headline = agreement(np.array(consensus), np.array([judge[i] for i in items]), SCALE, n_resamples=200)
    assert result.statistics == headline  # the judge against the consensus of all three, no rater privileged
    assert [r.rater for r in result.raters] == ["ann", "bob", "cy"]


def _reference_alt_test(ratings: dict[str, dict[str, int]], judge: dict[str, int], epsilon: float, q: float) -> float:
    """The paper's procedure written out independently: leave-one-out neg-RMSE, t-test, Benjamini-Yekutieli step-up."""
    p_values = []
    for excluded in ratings:
        d = []
        for item, own in ratings[excluded].items():
            rest = [ratings[h][item] for h in ratings if h != excluded and item in ratings[h]]
            human = -math.sqrt(np.mean([(own - r) ** 2 for r in rest]))
            llm = -math.sqrt(np.mean([(judge[item] - r) ** 2 for r in rest]))
            d.append(float(human >= llm) - float(llm >= human))
        p_values.append(stats.ttest_1samp(d, epsilon, alternative="less").pvalue)
    m = len(p_values)
    order = np.argsort(p_values)
    thresholds = np.arange(1, m + 1) / m * q / np.sum(1 / np.arange(1, m + 1))
    passing = [k for k in range(m) if np.asarray(p_values)[order][k] <= thresholds[k]]
    return (max(passing) + 1 if passing else 0) / m


@pytest.mark.parametrize("judge_noise, epsilon", [(0.25, 0.2), (0.25, 0.05), (0.9, 0.2), (0.6, 0.15)])
def test_alt_test_matches_the_papers_procedure(judge_noise: float, epsilon: float) -> None:
    three = three_raters(80, judge_noise, seed=3)
    fourth = [Label(x.id, min(5, x.human + 1), x.judge, rater="dee") for x in three if x.rater == "ann"][:40]
    labels = LabelSet(three + fourth, "x")  # a fourth rater, harsh and on half the items
    judge = {k: v for k, v in labels.judge_scores().items() if v is not None}
    ratings = labels.ratings()
    test = alt_test(ratings, labels.judge_scores(), epsilon=epsilon)
    assert test is not None and [r.rater for r in test.raters] == ["ann", "bob", "cy", "dee"]
    assert test.winning_rate == _reference_alt_test(ratings, judge, epsilon, 0.05)


def test_benjamini_yekutieli_from_scipy_is_the_step_up_procedure() -> None:
    rng = np.random.default_rng(0)
    for _ in range(200):
        p = rng.random(rng.integers(3, 12)) ** 3
        m = len(p)
        order = np.argsort(p)
        thresholds = np.arange(1, m + 1) / m * 0.05 / np.sum(1 / np.arange(1, m + 1))
        below = np.flatnonzero(p[order] <= thresholds)
        expected = set(order[: below.max() + 1].tolist()) if len(below) else set()
        assert set(np.flatnonzero(stats.false_discovery_control(p, method="by") <= 0.05).tolist()) == expected


def test_the_alt_test_decides_with_three_raters_and_says_so() -> None:
    good = calibrate(LabelSet(three_raters(80, 0.25, seed=1), "x"), SCALE, n_resamples=50)
    assert good.rule == "alt-test" and good.alt_test is not None and good.passed and good.alt_test.winning_rate >= 0.5
    bad = calibrate(LabelSet(three_raters(80, 0.95, seed=1), "x"), SCALE, n_resamples=50)
    assert bad.rule == "alt-test" and not bad.passed and bad.alt_test is not None and bad.alt_test.winning_rate < 0.5
    kappa = calibrate(LabelSet(three_raters(80, 0.25, seed=1), "x"), SCALE, Threshold(rule="kappa"), n_resamples=50)
    assert kappa.rule == "kappa" and kappa.alt_test is not None  # still reported, not deciding
    two = [x for x in three_raters(80, 0.25, seed=1) if x.rater != "cy"]
    result = calibrate(LabelSet(two, "x"), SCALE, n_resamples=50)
    assert result.rule == "kappa" and result.alt_test is None and "2 rater(s)" in str(result.alt_test_note)
    forced = calibrate(LabelSet(two, "x"), SCALE, Threshold(rule="alt-test"), n_resamples=50)
    assert not forced.passed and forced.rule == "alt-test" and "at least 3 raters" in forced.reason


def test_an_unscored_item_is_a_loss_for_the_judge() -> None:
    labels = three_raters(60, 0.0, seed=2)
    perfect = alt_test(LabelSet(labels, "x").ratings(), LabelSet(labels, "x").judge_scores())
    silent = alt_test(LabelSet(labels, "x").ratings(), {x.id: None for x in labels})
    assert perfect is not None and silent is not None
    assert perfect.advantage_probability > 0.5 and silent.advantage_probability == 0 and not silent.passed


def _shipped_rows() -> list[dict[str, str]]:
    with SHIPPED.open() as f:
        return list(csv.DictReader(f))


def _write(path: Path, rows: list[dict[str, str]]) -> Path:
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=[*rows[0].keys()])
        writer.writeheader()
        writer.writerows(rows)
    return path


def test_low_human_agreement_gets_its_own_verdict_on_real_shaped_labels(tmp_path, capsys) -> None:
    """The shipped house-style labels (rater a on 150, b on 60), with b's ratings shuffled among b's items:
    the same raters, items and label distribution, but no agreement between the two people."""
    rows = _shipped_rows()
    judge = {r["id"]: r["human"] for r in rows if r["rater"] == "a"}  # a judge that copies rater a: kappa would pass
    b_rows = [r for r in rows if r["rater"] == "b"]
    values = [r["human"] for r in b_rows]
    random.Random(1).shuffle(values)
    for r, v in zip(b_rows, values, strict=True):
        r["human"] = v
    for r in rows:
        r["judge"] = judge[r["id"]]
    labels = _write(tmp_path / "labels.csv", rows)
    assert main(["calibrate", str(labels), "--n-resamples", "200"]) == 1
    out = capsys.readouterr().out.strip().splitlines()
    assert out[-1].startswith("HUMANS DISAGREE: the raters do not agree with each other (Krippendorff's ordinal alpha")
    assert "fix the rubric or the labelling guide" in out[-1] and "decided by: human agreement" in out[-1]
    assert main(["calibrate", str(labels), "--n-resamples", "200", "--format", "json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["verdict"] == "humans-disagree" and report["rule"] == "human-agreement" and not report["passed"]
    assert report["human_agreement"]["krippendorff_alpha_ordinal"]["value"] < 0.667

    original = _write(tmp_path / "original.csv", [{**r, "human": h} for r, h in
                                                  zip(rows, [x["human"] for x in _shipped_rows()], strict=True)])
    assert main(["calibrate", str(original), "--n-resamples", "200", "--format", "json"]) == 0  # people agree: judge passes
    report = json.loads(capsys.readouterr().out)
    assert report["verdict"] == "pass" and report["rule"] == "kappa" and [r["rater"] for r in report["raters"]] == ["a", "b"]


def test_several_files_read_as_one_set_and_a_repeated_rating_is_bad_input(tmp_path, capsys) -> None:
    labels = three_raters(40)
    paths = []
    for rater in ("ann", "bob", "cy"):
        rows = [{"id": x.id, "rater": x.rater, "human": str(x.human), "judge": str(x.judge)} for x in labels
                if x.rater == rater]
        paths.append(str(_write(tmp_path / f"{rater}.csv", rows)))
    assert main(["calibrate", *paths, "--n-resamples", "200", "--format", "json"]) in (0, 1)
    report = json.loads(capsys.readouterr().out)
    assert [r["rater"] for r in report["raters"]] == ["ann", "bob", "cy"] and report["alt_test"] is not None
    assert main(["calibrate", paths[0], paths[0]]) == 2
    assert "duplicate-rating" in capsys.readouterr().err
    twice = _write(tmp_path / "twice.csv", [{"id": "a", "human": "1", "judge": "1"}, {"id": "b", "human": "2", "judge": "2"},
                                            {"id": "a", "human": "3", "judge": "1"}])
    assert main(["calibrate", str(twice)]) == 2
    assert f"{twice}:4: duplicate-rating: id 'a' is rated twice by an unnamed rater" in capsys.readouterr().err


def test_a_single_rater_file_gives_the_figures_it_always_gave() -> None:
    rng = np.random.default_rng(5)
    human = rng.integers(1, 6, 50)
    judge = np.where(rng.random(50) < 0.2, rng.integers(1, 6, 50), human)
    labels = [Label(f"i{k:02d}", int(h), int(j), line=k + 2) for k, (h, j) in enumerate(zip(human, judge, strict=True))]
    result = calibrate(read_labels_like(labels), SCALE, n_resamples=200)
    assert result.statistics == agreement(human, judge, SCALE, n_resamples=200)
    assert result.raters == [] and result.rule == "kappa" and result.human_agreement is None


def read_labels_like(labels: list[Label]) -> LabelSet:
    return LabelSet(labels, "x")


def test_text_report_shows_judge_and_ceiling_side_by_side(tmp_path, capsys) -> None:
    rows = [{"id": x.id, "rater": x.rater, "human": str(x.human), "judge": str(x.judge)} for x in three_raters(60)]
    path = _write(tmp_path / "l.csv", rows)
    assert read_labels(path, (1, 5)).ratings().keys() == {"ann", "bob", "cy"}
    main(["calibrate", str(path), "--n-resamples", "200"])
    out = capsys.readouterr().out
    for line in ("judge vs others", "rater vs others (ceiling)", "alternative annotator test (epsilon 0.2",
                 "without ann", "(decided by: alternative annotator test)"):
        assert line in out


def test_reordering_the_file_changes_no_figure_in_the_json(tmp_path, capsys) -> None:
    rows = [{"id": x.id, "rater": x.rater, "human": str(x.human), "judge": str(x.judge)} for x in three_raters(50)]
    reports = []
    for k in range(2):
        random.Random(k).shuffle(rows)
        path = _write(tmp_path / f"l{k}.csv", rows)
        main(["calibrate", str(path), "--n-resamples", "100", "--format", "json"])
        report = json.loads(capsys.readouterr().out)
        reports.append({key: v for key, v in report.items() if key != "created_at"})
    assert reports[0] == reports[1]
