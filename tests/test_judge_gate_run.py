"""The gate judges its own run and counts a judge metric only through a PPI interval on people's labels.

Real pieces: the tiny random model and adapters generate the run, the gate runs as `harness gate`
does, `harness judge sample` writes the labelling sheet, labels are real CSV files. The judge is
a stub OpenAI-compatible server on 127.0.0.1 (tests/stub_openai_server.py) scoring each reply by
the hash of its text: a judge that tracks people not at all, which PPI must correct for.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import json
import random
import re
import shutil
from pathlib import Path

import pytest

from harness.cli.main import main
from harness.eval.runner import EvalOptions
from harness.gate.decision import GateCheck
from harness.gate.run import run_gate
from harness.judge import configured_judge
from harness.judge.run_labels import output_sha256
from tests.stub_openai_server import Call, Reply, completion, stub_server
from tests.tiny import write_triage_file

pytestmark = pytest.mark.slow

RUBRIC = Path(__file__).resolve().parents[1] / "suites" / "house_style" / "judge" / "rubric.yaml"
CONFIG = """\
task: triage
model: {model}
cases: ./heldout.jsonl
variants:
  prompt-only: {{kind: prompt}}
  fine-tuned: {{kind: adapter, adapter: current:triage}}
scoring: {{fields: [category]}}
decoding: {{max_new_tokens: 12}}
gate:
  min_cases: 2
  judge_metrics: [judge:house_style]
  judge: {{rubric: {rubric}, model: stub, base_url: {url}, store: {store}, tolerance: 0.5{labels}}}
"""
NAME = "judge:house_style vs prompt-only (PPI)"


def _hashed_judge(call: Call) -> Reply:
    match = re.search(r"Reply to grade:\n(.*)\n\nGrade", call.user_text, re.S)
    assert match is not None
    score = 1 + int(hashlib.sha256(match.group(1).encode()).hexdigest()[:8], 16) % 5
    return Reply(body=completion(f"Score: {score}\nReason: stub."))


def _store_calibration(store: Path, url: str, passed: bool = True) -> None:
    judge = configured_judge(RUBRIC, "stub", base_url=url)
    store.mkdir(parents=True, exist_ok=True)
    (store / f"{judge.identity}.json").write_text(json.dumps({
        "judge_identity": judge.identity, "rubric_sha256": judge.rubric.sha256, "passed": passed,
        "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), "reason": "stub calibration"}))


@pytest.fixture
def project(tmp_path, tiny_checkpoint, tiny_adapters):
    from harness.fileio import sha256_file

    write_triage_file(tmp_path / "train.jsonl", 10)
    write_triage_file(tmp_path / "heldout.jsonl", 30, offset=100)
    candidate = tmp_path / "candidates" / "triage-1"
    shutil.copytree(tiny_adapters["a"], candidate)
    data = {"dataset": str(tmp_path / "train.jsonl"), "dataset_sha256": sha256_file(tmp_path / "train.jsonl")}
    (candidate / "manifest.json").write_text(json.dumps({"task": "triage", "data": data}))
    return tmp_path, candidate, tiny_checkpoint


def _fill(sheet: Path, out: Path, candidate_label: int, baseline_label: int, rater: str = "ann") -> Path:
    """People's labels on the sheet: every candidate reply ``candidate_label``, every baseline reply
    ``baseline_label`` (a text both variants wrote is left out: it cannot have both labels)."""
    rows = list(csv.DictReader(sheet.open()))
    texts = [(r["case_id"], r["output_sha256"]) for r in rows]
    kept = [r for r in rows if texts.count((r["case_id"], r["output_sha256"])) == 1]
    for r in kept:
        r["human"] = str(candidate_label if r["variant"] == "fine-tuned" else baseline_label)
        r["rater"] = rater
    with out.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, [*rows[0].keys(), "rater"] if "rater" not in rows[0] else list(rows[0]))
        writer.writeheader()
        writer.writerows(kept)
    return out


def test_the_gate_judges_its_run_and_decides_on_the_judge_metric_through_ppi(project, capsys) -> None:
    root, candidate, model = project
    store = root / "calibrations"
    options = EvalOptions(runs_dir=root / "runs", cache_path=root / "cache.sqlite")

    def gate(url: str, labels: Path | None = None, calibrations: Path = store) -> tuple[GateCheck, Path]:
        extra = f", labels: {labels}" if labels else ""
        (root / "harness.yaml").write_text(CONFIG.format(model=model, rubric=RUBRIC, url=url, store=calibrations,
                                                         labels=extra))
        decision = run_gate(candidate, root / "harness.yaml", options)
        [check] = [c for c in decision.checks if c.name == NAME]
        assert decision.run is not None
        return check, Path(decision.run)

    with stub_server(_hashed_judge) as (url, stats):
        uncalibrated, _ = gate(url, calibrations=root / "empty")
        assert uncalibrated.verdict == "inconclusive" and "no calibration stored" in uncalibrated.explanation
        assert stats.requests == 0  # an uncalibrated judge is not even asked

        _store_calibration(store, url)
        unlabelled, run = gate(url)
        assert unlabelled.verdict == "inconclusive" and "no human labels on this run's outputs" in unlabelled.explanation
        assert f"harness judge sample {run} --uniform" in unlabelled.explanation
        judged = stats.requests
        assert judged == 60 == unlabelled.observed["judged_outputs"]  # 30 cases × 2 variants, greedy outputs only

        sheet = root / "sheet.csv"
        assert main(["judge", "sample", str(run), "--uniform", "--n", "44", "--out", str(sheet)]) == 0
        capsys.readouterr()
        better = _fill(sheet, root / "better.csv", candidate_label=5, baseline_label=2)
        worse = _fill(sheet, root / "worse.csv", candidate_label=1, baseline_label=4)

        passed, _ = gate(url, better)
        assert passed.verdict == "pass", passed.explanation
        assert passed.interval is not None and passed.interval[0] >= -0.5 and passed.observed["n_labelled"] >= 2
        failed, _ = gate(url, worse)
        assert failed.verdict == "fail" and failed.interval is not None and failed.interval[1] < -0.5, failed.explanation
        assert failed.observed["judge_delta_uncorrected"] > failed.interval[1]  # the judge alone would not see the drop
        assert stats.requests == judged  # reruns on the same (cached) outputs judged nothing again

        rows = list(csv.DictReader(better.open()))
        shuffled = root / "shuffled.csv"
        with shuffled.open("w", newline="") as handle:
            writer = csv.DictWriter(handle, list(rows[0]))
            writer.writeheader()
            writer.writerows(random.Random(1).sample(rows, len(rows)))
        reordered, _ = gate(url, shuffled)
        assert (reordered.delta, reordered.interval, reordered.verdict) == (passed.delta, passed.interval, "pass")

        labelled = [r for r in rows if sum(o["case_id"] == r["case_id"] for o in rows) == 2]
        changed = dict(labelled[0], output_sha256=output_sha256("a reply this run never wrote"))
        edited = root / "edited.csv"
        with edited.open("w", newline="") as handle:
            writer = csv.DictWriter(handle, list(rows[0]))
            writer.writeheader()
            writer.writerows([changed if r is labelled[0] else r for r in rows])
        fewer, _ = gate(url, edited)
        assert fewer.observed["labels_unmatched"] == 1 and passed.observed["labels_unmatched"] == 0
        assert fewer.observed["n_labelled"] == passed.observed["n_labelled"] - 1  # that case lost a labelled side
