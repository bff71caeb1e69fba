"""The floors of bench/floor.py and the demo's per-step table (bench/steps.py) on a fabricated step log.

Fabricated rates and a fabricated model shape keep the arithmetic checkable by hand; the table reads a
real SQLite generation cache (the harness's schema) and real candidate manifests written here.
"""

from __future__ import annotations

import datetime
import json
import sqlite3
from pathlib import Path

import pytest

from bench.floor import (
    FloorRatio,
    Machine,
    Peaks,
    Shape,
    decode_step_floor_s,
    generation_floor_s,
    prefill_floor_s,
    training_floor_s,
)
from bench.run_all import floor_cell
from bench.steps import Step, Work, candidate_manifests, main, read_steps, table, work_of
from harness.eval.cache import SCHEMA

MACHINE = Machine("Test CPU", ("avx2",), 2, 2, "0")
PEAKS = Peaks(MACHINE, fp32_flops=1e9, bf16_flops=None, read_bytes_per_s=1e9, measured_at="now", load_average=0.0)
SHAPE = Shape(params_per_token=1_000_000, weight_bytes=4_000_000)  # 1 M parameters in fp32


def test_each_stage_floor_from_the_shape_and_the_rates():
    assert prefill_floor_s(SHAPE, 1000, PEAKS) == pytest.approx(2.0)  # 1000 x 2 MFLOP at 1 GFLOP/s
    assert training_floor_s(SHAPE, 1000, PEAKS) == pytest.approx(4.0)
    assert decode_step_floor_s(SHAPE, 1, PEAKS) == pytest.approx(0.004)  # the weights read: 4 MB at 1 GB/s
    assert decode_step_floor_s(SHAPE, 16, PEAKS) == pytest.approx(0.032)  # 16 rows' FLOPs outweigh the read
    # 100 new tokens at batch 16: 7 steps reading the weights (0.028 s) < their FLOPs (0.2 s)
    assert generation_floor_s(SHAPE, 1000, 100, 16, PEAKS) == pytest.approx(2.2)
    # bf16 without native bf16 is no faster; with it, the bf16 rate counts
    assert training_floor_s(SHAPE, 1000, PEAKS, "bf16") == pytest.approx(4.0)
    native = Peaks(MACHINE, 1e9, 4e9, 1e9, "now", 0.0)
    assert training_floor_s(SHAPE, 1000, native, "bf16") == pytest.approx(1.0)


def test_the_floor_line_is_what_run_all_reads():
    line = FloorRatio("generation, LocalBackend", 22.0, 2.2, "10 requests").line()
    assert line == "floor: generation, LocalBackend: 22.00 s, floor 2.2 s: 10.00x (10 requests)"
    assert floor_cell(["floor: training, plain: 9.00 s, floor 3 s: 3.00x (x)", line, "ratio a/b = 1.0"]) == \
        "10.00x generation, LocalBackend"
    assert floor_cell(["floor: n/a (no model stage)", "ratio seconds/budget = 0.8"]) == "n/a"
    assert floor_cell(["ratio seconds/budget = 0.8"]) == "-"


def write_cache(path: Path, rows: list[tuple[float, int, int]]) -> None:
    with sqlite3.connect(path) as db:
        db.executescript(SCHEMA)
        db.executemany("INSERT INTO generations VALUES (?, 'text', ?, ?, 0.1, ?)",
                       [(f"k{i}", prompt, new, at) for i, (at, prompt, new) in enumerate(rows)])


def write_candidate(folder: Path, at: float, tokens: int, precision: str) -> None:
    folder.mkdir(parents=True)
    created = datetime.datetime.fromtimestamp(at, datetime.UTC).isoformat(timespec="seconds")
    (folder / "manifest.json").write_text(json.dumps({
        "kind": "harness-candidate", "created_at": created, "task": "triage",
        "stats": {"wall_seconds": 5.0, "trained_tokens": tokens, "precision": precision}}))


@pytest.fixture
def demo_log(tmp_path) -> tuple[Path, Path, Path]:
    """Three steps: lint (no model work), eval (10 generations), training (a candidate, and 2 replay generations)."""
    t0 = 1_800_000_000.0
    log = tmp_path / "steps.tsv"
    log.write_text(f"{t0}\t1. lint the data: format\n{t0 + 3}\t4. eval: prompt-only\n{t0 + 25}\t5. fine-tune: LoRA\n"
                   f"{t0 + 60}\tend\n")
    cache = tmp_path / "generations.sqlite"
    write_cache(cache, [(t0 + 4 + i, 100, 10) for i in range(10)] + [(t0 + 30, 50, 20), (t0 + 31, 50, 20)]
                + [(t0 - 100, 999, 999)])  # an earlier run's row: no step's work
    write_candidate(tmp_path / "candidates" / "triage-1", t0 + 50, 1000, "fp32")
    write_candidate(tmp_path / "candidates" / "old", t0 - 500, 5000, "fp32")
    return log, cache, tmp_path / "candidates"


def test_the_step_table_carries_each_steps_work_floor_and_ratio(demo_log):
    log, cache, candidates = demo_log
    steps = read_steps(log)
    assert [(s.label, s.seconds) for s in steps] == [("1. lint the data", 3), ("4. eval", 22), ("5. fine-tune", 35)]
    works = [work_of(step, cache, candidate_manifests([candidates])) for step in steps]
    assert works[0] == Work()
    assert (works[1].generations, works[1].prompt_tokens, works[1].new_tokens, works[1].trainings) == (10, 1000, 100, ())
    assert works[2].generations == 2 and [t.tokens for t in works[2].trainings] == [1000]
    rows = table(steps, works, SHAPE, PEAKS, 16, "fp32").splitlines()
    assert rows[0] == "| step | seconds | model work | floor | ratio to floor |"
    assert rows[2] == "| 1. lint the data | 3 | - | - | n/a |"
    assert rows[3] == "| 4. eval | 22 | 10 generations (1,000 prompt + 100 new tokens) | 2.2 s | 10.0x |"
    # training 1000 tokens: 4.0 s; replay generations: 100 prompt (0.2 s) + 40 new tokens at batch 16 (0.08 s)
    assert rows[4] == ("| 5. fine-tune | 35 | 2 generations (100 prompt + 40 new tokens); training 1,000 tokens (fp32) "
                       "| 4.3 s | 8.2x |")  # 35 s / 4.28 s
    assert len(rows) == 5  # every ratio above 1: no note
    faster = table([Step("4. eval", 0.0, 1.0)], works[1:2], SHAPE, PEAKS, 16, "fp32")
    assert "| 4. eval | 1 | 10 generations (1,000 prompt + 100 new tokens) | 2.2 s | 0.5x |" in faster
    assert "A ratio below 1 is no step faster than the machine" in faster


def test_a_damaged_step_log_is_one_line_and_exit_2(tmp_path, capsys):
    log = tmp_path / "steps.tsv"
    log.write_text("1800000000\t1. lint\nyesterday\t2. split\n")
    assert main([str(log)]) == 2
    assert capsys.readouterr().err.strip() == f"{log}:2: not '<unix time><TAB><step name>'; the demo writes these lines"
    assert main([str(tmp_path / "missing.tsv")]) == 2


def test_a_step_is_its_window_of_the_log():
    step = Step("6. the ladder per task: deploy", 10.0, 40.5)
    assert (step.label, step.seconds) == ("6. the ladder per task", 30.5)


def test_a_copied_candidate_counts_as_one_training(tmp_path):
    """The demo's broken candidate is a copy of a trained one, manifest included: one training, not two."""
    import json

    manifest = {"kind": "harness-candidate", "created_at": "2026-12-05T01:41:51+00:00",
                "stats": {"trained_tokens": 79298, "precision": "fp32"}}
    for folder in ("candidates/triage-1", "runs/demo/broken"):
        (tmp_path / folder).mkdir(parents=True)
        (tmp_path / folder / "manifest.json").write_text(json.dumps(manifest))
    other = dict(manifest, created_at="2026-12-05T01:55:05+00:00")
    (tmp_path / "candidates/style-1").mkdir()
    (tmp_path / "candidates/style-1/manifest.json").write_text(json.dumps(other))
    found = candidate_manifests([tmp_path / "candidates", tmp_path / "runs"])
    assert sorted(m["created_at"] for m in found) == [manifest["created_at"], other["created_at"]]
