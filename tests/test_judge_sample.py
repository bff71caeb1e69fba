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
    reply = re.search(r"Reply to grade:\n(.*)\n\nGrade", call.user_text, re.S).group(1)
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
