"""`harness` processes killed (SIGKILL) at random moments: what they leave reads whole or is absent, and a rerun completes.

Each test first times one uninterrupted run of the command, then kills fresh runs after delays
drawn uniformly from that duration (seeded), checks every file the harness reads back, and
finally reruns the command to completion. The round counts are part of the claim.
"""

from __future__ import annotations

import json
import random
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest

from harness.fileio import sha256_file
from harness.history.readers import read_run
from harness.registry.index import load_index
from tests.processes import finish, harness_process, write_eval_project
from tests.synthetic_runs import write_synthetic_run
from tests.test_concurrency import state
from tests.test_registry import make_candidate
from tests.tiny import write_triage_file

ROUNDS = 5
RNG = random.Random(27)


@pytest.fixture
def eval_project(tmp_path, tiny_checkpoint, tiny_adapters) -> Path:
    return write_eval_project(tmp_path / "project", tiny_checkpoint, tiny_adapters)


def timed(*argv: str | Path, env: dict[str, str] | None = None) -> float:
    """Seconds one uninterrupted run of the command takes (it must succeed)."""
    started = time.monotonic()
    code, output = finish(harness_process(*argv, env=env), timeout=600)
    assert code == 0, output
    return time.monotonic() - started


def killed(*argv: str | Path, after: float, env: dict[str, str] | None = None) -> bool:
    """Start the command, SIGKILL it ``after`` seconds in; True if it was still running then."""
    process = harness_process(*argv, env=env)
    try:
        process.wait(timeout=after)
        process.communicate()
        return False
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGKILL)
        process.communicate(timeout=60)
        return True


def delays(duration: float) -> list[float]:
    return [RNG.uniform(0.0, duration) for _ in range(ROUNDS)]


def check_runs_folder(runs: Path) -> list[Path]:
    """Every finished run folder reads whole; returns the hidden partial folders (the only other thing allowed)."""
    partial = []
    for folder in runs.iterdir() if runs.exists() else []:
        if folder.name.startswith("."):
            assert folder.name.endswith(".partial"), folder
            partial.append(folder)
        else:
            read_run(folder)  # raises CorruptArtifact on a half-written folder
    return partial


@pytest.mark.slow
def test_killed_eval_leaves_whole_runs_or_a_partial_the_next_run_removes(eval_project, tmp_path):
    config, runs = eval_project / "harness.yaml", tmp_path / "runs"
    env = {"HARNESS_CACHE_DIR": str(tmp_path / "cache")}
    argv = ("eval", "--config", config, "--runs-dir", runs, "--no-cache")
    duration = timed(*argv, env=env)
    kills, partials = 0, 0
    for delay in delays(duration):
        kills += killed(*argv, after=delay, env=env)
        partial = check_runs_folder(runs)
        partials = max(partials, len(partial))
        if partial:  # the importer reports it with its one line and indexes the rest
            code, output = finish(harness_process("history", "import", runs, "--store", tmp_path / "h.sqlite"))
            assert code == 0 and "half-written run folder of a process that was killed" in output, output
    print(f"eval: {kills} of {ROUNDS} runs killed (run {duration:.1f} s), at most {partials} partial folder(s) left")
    assert kills >= ROUNDS // 2, "most delays fall inside the run: the kills must have happened"
    assert timed(*argv, env=env) > 0  # a rerun completes ...
    assert check_runs_folder(runs) == []  # ... and removed every partial folder the kills left


@pytest.mark.slow
def test_killed_promotion_leaves_the_old_or_the_new_deployment(tmp_path):
    make_candidate(tmp_path, "base", verdict="accepted")
    duration = timed("registry", "--root", tmp_path, "promote", "base")
    for index, delay in enumerate(delays(duration)):
        name = make_candidate(tmp_path, f"c{index}", verdict="accepted").name
        before = state(tmp_path)
        killed("registry", "--root", tmp_path, "promote", name, after=delay)
        after = state(tmp_path)  # registry.json reads (a damaged file raises here)
        assert after == before or after == (name, before[1] + [before[0]]), (before, after)
        assert all((tmp_path / ident / "manifest.json").exists() for ident in [after[0], *after[1]])
        code, output = finish(harness_process("registry", "--root", tmp_path, "promote", name))
        assert code == 0, output  # the lock of the killed process was released with it
        assert state(tmp_path)[0] == name
    assert load_index(tmp_path)["triage"].current is not None


@pytest.mark.slow
def test_killed_history_import_leaves_a_usable_store(tmp_path):
    runs = tmp_path / "runs"
    for day in range(1, 41):
        write_synthetic_run(runs, "triage", f"2026-03-{(day - 1) % 28 + 1:02d}T{day % 24:02d}:00:00+00:00",
                            {"prompt-only": [[1], [0], [1]] * 20, "fine-tuned": [[1], [1], [0]] * 20})
    total = len(list(runs.iterdir()))
    for round_, delay in enumerate(delays(timed("history", "import", runs, "--store", tmp_path / "timing.sqlite"))):
        store = tmp_path / f"h{round_}.sqlite"
        killed("history", "import", runs, "--store", store, after=delay)
        if store.exists():
            with sqlite3.connect(store) as conn:
                assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
                tables = {name for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
                # killed after the WAL header and before the schema's transaction: an empty database, no half schema
                assert "runs" in tables or not tables, tables
                indexed = conn.execute("SELECT run_id FROM runs").fetchall() if tables else []
                for (run_id,) in indexed:  # a run is in the store whole or not at all
                    outputs = conn.execute("SELECT COUNT(*) FROM outputs WHERE run_id = ?", (run_id,)).fetchone()[0]
                    assert outputs == 120
        code, output = finish(harness_process("history", "import", runs, "--store", store))
        assert code == 0, output
        with sqlite3.connect(store) as conn:
            assert conn.execute("SELECT COUNT(*) FROM runs").fetchone()[0] == total


def check_split(out: Path) -> None:
    """A split folder holds a whole split (files matching its manifest) or nothing."""
    if not out.exists():
        return
    manifest = json.loads((out / "split.json").read_text())
    for name, sha in manifest["files"].items():
        assert sha256_file(out / name) == sha, f"{name} does not match split.json"


@pytest.mark.slow
def test_killed_split_force_leaves_the_old_or_the_new_split(tmp_path):
    data = write_triage_file(tmp_path / "data.jsonl", 6000)
    out = tmp_path / "split"
    duration = timed("split", data, "--out", out, "--eval-split", "0.2", "--seed", "0")
    for seed, delay in enumerate(delays(duration), start=1):
        killed("split", data, "--out", out, "--eval-split", "0.2", "--seed", str(seed), "--force", after=delay)
        check_split(out)
        assert timed("split", data, "--out", out, "--eval-split", "0.2", "--seed", str(seed), "--force") > 0
        check_split(out)
        assert json.loads((out / "split.json").read_text())["seed"] == seed
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # nothing left beside it


@pytest.mark.slow
def test_killed_report_leaves_whole_pages(tmp_path):
    runs, store, out = tmp_path / "runs", tmp_path / "h.sqlite", tmp_path / "report"
    for day in range(1, 15):
        write_synthetic_run(runs, "triage", f"2026-03-{day:02d}T00:00:00+00:00",
                            {"prompt-only": [[1], [0]] * 15, "fine-tuned": [[day % 2], [1]] * 15})
    assert finish(harness_process("history", "import", runs, "--store", store))[0] == 0
    for delay in delays(timed("report", "--store", store, "--out", out)):
        killed("report", "--store", store, "--out", out, after=delay)
        html = out / "index.html"
        if html.exists():
            assert html.read_text(encoding="utf-8").rstrip().endswith("</html>")
        markdown = out / "report.md"
        if markdown.exists():
            assert markdown.read_text(encoding="utf-8").strip()
        assert timed("report", "--store", store, "--out", out) > 0
