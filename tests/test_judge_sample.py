"""``harness judge run`` stores scores beside a run; ``harness judge sample`` picks items to label and hides the scores."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

from harness.cli.main import main
from harness.records import Case, CaseResult, Generation
from tests.stub_openai_server import Call, Reply, completion, stub_server

RUBRIC = Path(__file__).resolve().parents[1] / "suites/house_style/judge/rubric.yaml"


def _by_length(call: Call) -> Reply:
    match = re.search(r"Reply to grade:\n(.*)\n\nGrade", call.user_text, re.S)
    assert match is not None
    reply = match.group(1)
    return Reply(body=completion(f"Score: {min(5, len(reply.split()))}\nReason: length."))


def make_run(folder: Path, n_cases: int = 12) -> Path:
    folder.mkdir()
    results = []
    for c in range(n_cases):
        case = Case(f"c{c}", "house_style", ({"role": "user", "content": f"question {c}"},), None)
        for variant, words in (("prompt-only", 1 + c % 5), ("fine-tuned", 5)):
            results.append(CaseResult(case, Generation(case.id, variant, text=" ".join(["word"] * words))))
    results.append(CaseResult(case, Generation(case.id, "rag", error="timeout")))  # nothing to judge
    (folder / "results.jsonl").write_text("".join(r.to_json() + "\n" for r in results))
    return folder


def test_judge_run_then_sample(tmp_path, capsys) -> None:
    run = make_run(tmp_path / "run")
    with stub_server(_by_length) as (base_url, stats):
        assert main(["judge", "run", str(run), "--rubric", str(RUBRIC), "--base-url", base_url, "--model", "stub",
                     "--no-cache"]) == 0
    summary = json.loads((run / "judge.json").read_text())
    assert stats.requests == 24 and summary["n"] == 24 and summary["per_variant"]["fine-tuned"]["mean"] == 5.0
    assert "count at the gate only with a passing calibration" in capsys.readouterr().out

    out = tmp_path / "labels.csv"
    assert main(["judge", "sample", str(run), "--n", "10", "--out", str(out)]) == 0
    rows = list(csv.DictReader(out.open()))
    assert len(rows) == 10 and all(r["human"] == "" for r in rows) and "judge" not in rows[0]
    hidden = [json.loads(line) for line in out.with_suffix(".judge.jsonl").read_text().splitlines()]
    assert {h["id"] for h in hidden} == {r["id"] for r in rows} and out.with_suffix(".rubric.yaml").is_file()
    disagree = {f"c{c}" for c in range(12) if 5 - (1 + c % 5) >= 2}  # cases whose variants' scores differ by 2+
    assert sum(r["id"].split(":")[0] in disagree for r in rows) >= 10 // 3
    assert {r["variant"] for r in rows} == {"prompt-only", "fine-tuned"}


def test_sample_needs_a_judged_run(tmp_path, capsys) -> None:
    run = make_run(tmp_path / "run")
    assert main(["judge", "sample", str(run), "--out", str(tmp_path / "l.csv")]) == 2
    assert "not-judged" in capsys.readouterr().err


def _judged(folder: Path, n_cases: int = 30) -> Path:
    """A run judged without a model: judge_scores.jsonl and judge.json written as `harness judge run` writes them."""
    from harness.judge.records import JudgeScore

    run = make_run(folder, n_cases)
    scores = [JudgeScore(f"c{c}:{v}:0", v, 0, 1 + (c + len(v)) % 5, None, None, None, "j" * 64, "r" * 64)
              for c in range(n_cases) for v in ("prompt-only", "fine-tuned")]
    (run / "judge_scores.jsonl").write_text("".join(s.to_json() + "\n" for s in scores))
    (run / "judge.json").write_text(json.dumps({"rubric": str(RUBRIC)}))
    return run


def test_sample_hands_an_overlap_to_every_rater(tmp_path, capsys) -> None:
    run = _judged(tmp_path / "run")
    out = tmp_path / "labels.csv"
    assert main(["judge", "sample", str(run), "--n", "40", "--out", str(out), "--raters", "ann,bob,cy",
                 "--overlap", "0.5"]) == 0
    files = {r: list(csv.DictReader(out.with_suffix(f".{r}.csv").open())) for r in ("ann", "bob", "cy")}
    ids = {r: [row["id"] for row in rows] for r, rows in files.items()}
    shared = set(ids["ann"]) & set(ids["bob"]) & set(ids["cy"])
    assert len(shared) == 20 and len(set().union(*ids.values())) == 40  # half to all three, the rest to one each
    assert sorted(len(v) for v in ids.values()) == [26, 27, 27]
    assert all(row["rater"] == r and row["human"] == "" and "judge" not in row for r, rows in files.items() for row in rows)
    assert ids["ann"] != ids["bob"]  # each rater works on their own order
    hidden = {json.loads(line)["id"] for line in out.with_suffix(".judge.jsonl").read_text().splitlines()}
    assert hidden == set().union(*ids.values()) and not out.exists()
    assert main(["judge", "sample", str(run), "--n", "10", "--out", str(out), "--overlap", "0.5"]) == 2
    assert "--overlap needs --raters" in capsys.readouterr().err
    assert main(["judge", "sample", str(run), "--n", "10", "--out", str(out), "--raters", "a,b", "--overlap", "0.1"]) == 2


def test_a_uniform_sample_is_a_simple_random_sample(tmp_path) -> None:
    run = _judged(tmp_path / "run")
    picks = []
    for seed in range(30):
        out = tmp_path / f"l{seed}.csv"
        assert main(["judge", "sample", str(run), "--n", "12", "--out", str(out), "--uniform", "--seed", str(seed)]) == 0
        picks += [row["id"] for row in csv.DictReader(out.open())]
    counts = [picks.count(f"c{c}:{v}:0") for c in range(30) for v in ("prompt-only", "fine-tuned")]
    assert len(picks) == 360 and max(counts) - min(counts) < 15  # every output about equally likely (expected 6 each)
