"""A disk that fills: each writing verb ends with one line naming the path and the space it needs, exit 2,
and the files of the previous run stay exactly as they were.

The outputs live on a real small filesystem (a tmpfs of a few MB mounted by the test: that needs
root, as in CI; elsewhere the tests skip with that reason), filled to a few KiB before the verb runs.
"""

from __future__ import annotations

import json
import re
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.fileio import sha256_file
from tests.processes import finish, harness_process, write_eval_project, write_gate_project, write_train_workdir
from tests.synthetic_runs import write_synthetic_run

DISK_MB = 6


@pytest.fixture
def disk(tmp_path: Path) -> Iterator[Path]:
    """A fresh tmpfs of DISK_MB MB, unmounted afterwards."""
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={DISK_MB}m", "tmpfs", str(mount)], capture_output=True,
                          text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here (needs root): {done.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def fill(disk: Path, leave_bytes: int = 8 * 1024) -> None:
    """Take all but ``leave_bytes`` of the disk's free space with one file."""
    free = shutil.disk_usage(disk).free
    with open(disk / "filler", "wb") as handle:
        handle.truncate(0)
        handle.write(b"\0" * max(0, free - leave_bytes))


def snapshot(folder: Path) -> dict[str, str]:
    """Every visible file below ``folder`` with its sha256 (hidden temporary names excluded)."""
    return {str(p.relative_to(folder)): sha256_file(p) for p in sorted(folder.rglob("*"))
            if p.is_file() and not any(part.startswith(".") for part in p.relative_to(folder).parts)}


def one_line_disk_full(output: str, path: Path) -> str:
    lines = [line[line.index("harness "):] for line in output.splitlines() if re.search(r"harness \w+: ", line)]
    assert "Traceback" not in output and len(lines) == 1, output  # (a progress bar may share its terminal line)
    line = lines[0]
    assert "disk-full" in line and str(path) in line and "free" in line, line
    print(line)
    return line


@pytest.mark.slow
def test_report_on_a_full_disk_keeps_the_previous_report(disk, tmp_path):
    runs, store, out = tmp_path / "runs", tmp_path / "h.sqlite", disk / "report"
    for day in range(1, 8):
        write_synthetic_run(runs, "triage", f"2026-03-{day:02d}T00:00:00+00:00",
                            {"prompt-only": [[1], [0]] * 10, "fine-tuned": [[day % 2], [1]] * 10})
    assert finish(harness_process("history", "import", runs, "--store", store))[0] == 0
    assert finish(harness_process("report", "--store", store, "--out", out))[0] == 0
    before = snapshot(out)
    fill(disk)
    code, output = finish(harness_process("report", "--store", store, "--out", out))
    assert code == 2
    one_line_disk_full(output, out)
    assert snapshot(out) == before and not [p for p in out.iterdir() if p.name.startswith(".")]


@pytest.mark.slow
def test_history_import_on_a_full_disk_keeps_the_store(disk, tmp_path):
    runs, store = tmp_path / "runs", disk / "history.sqlite"
    for day in range(1, 4):
        write_synthetic_run(runs, "triage", f"2026-03-{day:02d}T00:00:00+00:00", {"prompt-only": [[1], [0]] * 10})
    assert finish(harness_process("history", "import", runs, "--store", store))[0] == 0
    for day in range(4, 40):
        write_synthetic_run(runs, "triage", f"2026-04-{day % 28 + 1:02d}T{day % 24:02d}:00:00+00:00",
                            {"prompt-only": [[1], [0]] * 200, "fine-tuned": [[1], [1]] * 200})
    fill(disk, leave_bytes=64 * 1024)
    code, output = finish(harness_process("history", "import", runs, "--store", store))
    assert code == 2
    one_line_disk_full(output, store)
    with sqlite3.connect(store) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("SELECT COUNT(*) FROM runs").fetchone()[0] >= 3  # the earlier import is all there


@pytest.mark.slow
def test_eval_on_a_full_disk_keeps_the_earlier_runs(disk, tmp_path, tiny_checkpoint, tiny_adapters):
    project = write_eval_project(tmp_path / "project", tiny_checkpoint, tiny_adapters)
    runs = disk / "runs"
    argv = ("eval", "--config", project / "harness.yaml", "--runs-dir", runs)
    env = {"HARNESS_CACHE_DIR": str(tmp_path / "cache")}
    assert finish(harness_process(*argv, env=env), timeout=600)[0] == 0
    before = snapshot(runs)
    fill(disk, leave_bytes=2 * 1024)
    code, output = finish(harness_process(*argv, env=env), timeout=600)
    assert code == 2
    one_line_disk_full(output, runs)
    assert snapshot(runs) == before and not [p for p in runs.iterdir() if p.name.startswith(".")]


@pytest.mark.slow
def test_train_on_a_full_disk_leaves_no_scratch_and_no_candidate(disk, tmp_path, tiny_checkpoint):
    config = write_train_workdir(tmp_path / "work", tiny_checkpoint, 40, 1, output_dir=disk / "candidates") / "lora.yaml"
    (disk / "candidates").mkdir()
    (disk / "candidates" / "earlier").mkdir()
    (disk / "candidates" / "earlier" / "manifest.json").write_text(json.dumps({"task": "triage"}))
    before = snapshot(disk / "candidates")
    fill(disk, leave_bytes=16 * 1024)
    code, output = finish(harness_process("train", config), timeout=600)
    assert code == 2
    one_line_disk_full(output, disk / "candidates")
    assert snapshot(disk / "candidates") == before
    assert [p.name for p in (disk / "candidates").iterdir()] == ["earlier"]


@pytest.mark.slow
def test_gate_on_a_full_disk_is_no_decision_and_keeps_the_earlier_one(disk, tmp_path, tiny_checkpoint, tiny_adapters):
    candidate = write_gate_project(tmp_path, tiny_checkpoint, tiny_adapters["a"], disk / "candidates" / "triage-1")
    argv = ("gate", candidate, "--config", tmp_path / "harness.yaml", "--runs-dir", tmp_path / "runs")
    env = {"HARNESS_CACHE_DIR": str(tmp_path / "cache")}
    assert finish(harness_process(*argv, env=env), timeout=600)[0] in (0, 1)
    before = snapshot(candidate)
    fill(disk, leave_bytes=1024)
    code, output = finish(harness_process(*argv, env=env), timeout=600)
    assert code == 2
    one_line_disk_full(output, candidate)
    assert snapshot(candidate) == before
