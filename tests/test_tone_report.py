"""The nightly report shows each tone axis beside ``tone_joint`` (a run written as ``harness eval`` writes it)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from harness.reports import build_report, write_report

from harness.history import import_paths
from tests.synthetic_runs import write_synthetic_run

AXES = {"tone_style": 0.8, "tone_meaning": 0.5, "tone_fluency": 0.9}


def tone_run(runs: Path) -> Path:
    """A house-style run whose every reply carries the tone scorer's four metrics (joint 0 or 1, fixed axes)."""
    folder = write_synthetic_run(runs, "house_style", "2026-12-04T18:00:00",
                                 {"prompt-only": [[0]] * 20, "fine-tuned": [[1]] * 20}, metric="tone_joint")
    results = folder / "results.jsonl"
    lines = []
    for line in results.read_text().splitlines():
        data = json.loads(line)
        scale = 1.0 if data["generation"]["variant"] == "fine-tuned" else 0.5
        data["scores"] += [{"metric": m, "value": v * scale, "detail": None} for m, v in AXES.items()]
        lines.append(json.dumps(data))
    results.write_text("\n".join(lines) + "\n")
    return folder


def test_report_shows_each_tone_axis_beside_the_joint(tmp_path):
    tone_run(tmp_path / "runs")
    summary = import_paths([tmp_path / "runs"], tmp_path / "history.sqlite")
    assert len(summary.indexed) == 1 and not summary.skipped
    report = build_report(tmp_path / "history.sqlite", tmp_path / "out")
    task = next(t for t in report.tasks if t.task == "house_style")
    values = {(r.variant, r.metric): r.value for r in task.table}
    for metric, value in AXES.items():
        assert values[("fine-tuned", metric)] == pytest.approx(value)
        assert values[("prompt-only", metric)] == pytest.approx(value / 2)
    assert values[("fine-tuned", "tone_joint")] == 1.0 and values[("prompt-only", "tone_joint")] == 0.0
    html, markdown = write_report(report, tmp_path / "out")
    page = html.read_text()
    heads = [page.index(f'<th scope="row">{m}</th>') for m in ("tone_joint", "tone_fluency", "tone_meaning", "tone_style")]
    assert heads == sorted(heads), "tone_joint heads its axes, each axis in the row after it"
