"""``harness calibrate``: outputs, exit codes, one test per class of bad label file, stored calibrations."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import pytest

from harness.cli.main import main
from harness.judge.store import calibration_status

KEYS = {"n", "cohen_kappa", "quadratic_weighted_kappa", "spearman", "exact_agreement", "within_one_agreement", "mean_bias",
        "base_rate", "baseline", "confusion_matrix", "disagreements", "human_agreement", "unscored_rate", "passed"}


def write_csv(path: Path, header: str, rows: list[str]) -> Path:
    path.write_text("\n".join([header, *rows]) + "\n")
    return path


def noisy(n: int = 80, flip: float = 0.1, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    human = rng.integers(1, 6, n)
    return human, np.where(rng.random(n) < flip, rng.integers(1, 6, n), human)


def test_good_judge_passes_with_json_keys_at_top_level(tmp_path, capsys) -> None:
    human, judge = noisy()
    rows = [f"i{k},{h},{j}" for k, (h, j) in enumerate(zip(human, judge, strict=True))]
    labels = write_csv(tmp_path / "l.csv", "id,human,judge", rows)
    plot = tmp_path / "cm.svg"
    assert main(["calibrate", str(labels), "--format", "json", "--plot", str(plot), "--n-resamples", "200"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert KEYS <= report.keys() and report["n"] == 80 and report["passed"]
    assert set(report["cohen_kappa"]) == {"value", "low", "high"}
    assert {d["id"] for d in report["disagreements"]} == {f"i{k}" for k in np.flatnonzero(human != judge)}
    assert plot.read_text().lstrip().startswith("<?xml")


def test_poor_judge_exits_1_and_says_why(tmp_path, capsys) -> None:
    human, _ = noisy()
    judge = np.random.default_rng(9).integers(1, 6, len(human))
    labels = write_csv(tmp_path / "l.csv", "human,judge", [f"{h},{j}" for h, j in zip(human, judge, strict=True)])
    assert main(["calibrate", str(labels), "--min-kappa", "0.5", "--n-resamples", "200"]) == 1
    assert "FAIL: quadratic_weighted_kappa" in capsys.readouterr().out


@pytest.mark.parametrize("header, rows, code", [
    ("id,judge", ["a,3", "b,4"], "missing-column"),
    ("id,human,judge", ["a,3,4", "b,4.5,4"], "non-integer-label"),
    ("id,human,judge", ["a,3,4", "b,,4"], "non-integer-label"),
    ("id,human,judge", ["a,3,4", "b,6,4"], "label-out-of-scale"),
    ("id,human,judge", ["a,3,4", "b,3,2"], "too-few-labels"),
])
def test_bad_label_files_get_one_clear_line_and_exit_2(tmp_path, capsys, header, rows, code) -> None:
    labels = write_csv(tmp_path / "l.csv", header, rows)
    assert main(["calibrate", str(labels)]) == 2
    err = capsys.readouterr().err.strip()
    assert f": {code}: " in err and str(labels) in err and "Traceback" not in err and len(err.splitlines()) == 1


def test_line_number_points_at_the_bad_row(tmp_path, capsys) -> None:
    labels = write_csv(tmp_path / "l.csv", "id,human,judge", ["a,3,4", "b,2,2", "c,x,1"])
    assert main(["calibrate", str(labels)]) == 2
    assert f"{labels}:4: non-integer-label" in capsys.readouterr().err


def test_ids_that_do_not_match_the_judge_scores_file(tmp_path, capsys) -> None:
    labels = write_csv(tmp_path / "l.jsonl", "", [])
    labels.write_text('{"id": "a", "human": 2}\n{"id": "zz", "human": 4}\n')
    scores = tmp_path / "s.jsonl"
    scores.write_text('{"id": "a", "judge": 2}\n{"id": "b", "judge": 4}\n')
    assert main(["calibrate", str(labels), "--judge-scores", str(scores)]) == 2
    assert f"{labels}:2: id-mismatch: id 'zz'" in capsys.readouterr().err


def _scores_file(path: Path, human: np.ndarray, judge: np.ndarray, identity: str = "j" * 64, rubric: str = "r" * 64) -> Path:
    rows = [{"id": f"i{k}", "judge": int(j), "sample": 0, "judge_identity": identity, "rubric_sha256": rubric}
            for k, j in enumerate(judge)]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_stored_calibration_gates_judge_metrics(tmp_path) -> None:
    human, judge = noisy()
    labels = write_csv(tmp_path / "l.csv", "id,human", [f"i{k},{h}" for k, h in enumerate(human)])
    scores = _scores_file(tmp_path / "s.jsonl", human, judge)
    store = tmp_path / "calibrations"
    assert calibration_status("j" * 64, "r" * 64, 30, store)[0] is False  # nothing stored yet
    assert main(["calibrate", str(labels), "--judge-scores", str(scores), "--store", str(store), "--n-resamples", "200"]) == 0
    ok, reason = calibration_status("j" * 64, "r" * 64, 30, store)
    assert ok, reason
    ok, reason = calibration_status("k" * 64, "r" * 64, 30, store)  # another judge configured now
    assert not ok and "no calibration stored for judge kkkk" in reason
    assert "another rubric" in calibration_status("j" * 64, "s" * 64, 30, store)[1]
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=31)
    ok, reason = calibration_status("j" * 64, "r" * 64, 30, store, now=later)
    assert not ok and "days old" in reason


def test_a_failed_calibration_is_stored_and_refuses(tmp_path) -> None:
    human, _ = noisy()
    judge = np.ones_like(human)
    labels = write_csv(tmp_path / "l.csv", "id,human", [f"i{k},{h}" for k, h in enumerate(human)])
    scores = _scores_file(tmp_path / "s.jsonl", human, judge)
    assert main(["calibrate", str(labels), "--judge-scores", str(scores), "--store", str(tmp_path), "--n-resamples", "100"]) == 1
    ok, reason = calibration_status("j" * 64, "r" * 64, 30, tmp_path)
    assert not ok and reason.startswith("the judge failed its calibration")


def test_stored_calibration_adds_its_agreement_to_the_run_history(tmp_path, monkeypatch) -> None:
    import sqlite3

    human, judge = noisy()
    labels = write_csv(tmp_path / "l.csv", "id,human", [f"i{k},{h}" for k, h in enumerate(human)])
    scores = _scores_file(tmp_path / "s.jsonl", human, judge)
    monkeypatch.setenv("HARNESS_HISTORY", str(tmp_path / "history.sqlite"))
    assert main(["calibrate", str(labels), "--judge-scores", str(scores), "--store", str(tmp_path / "c"),
                 "--task", "house_style", "--n-resamples", "200", "--format", "json"]) == 0
    rows = sqlite3.connect(tmp_path / "history.sqlite").execute("SELECT source, task, name, value, low, high FROM figures")
    figures = {r[2]: r for r in rows}
    assert set(figures) == {"judge/quadratic_weighted_kappa", "judge/cohen_kappa", "judge/exact_agreement"}
    qwk = figures["judge/quadratic_weighted_kappa"]
    assert qwk[:2] == ("judge", "house_style") and qwk[4] <= qwk[3] <= qwk[5]
