"""Several real `harness` processes at once on one registry, one generation cache and one history store.

Each round starts the processes together and then checks what they left against the only
outcomes a serial order could produce: nothing lost, nothing mixed, no deployment that does
not exist. The loop counts are part of the claim (the README quotes them).
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from harness.registry.index import load_index
from tests.processes import finish, harness_process, write_eval_project
from tests.test_registry import make_candidate

PROMOTION_ROUNDS = 20
ROLLBACK_ROUNDS = 8


@pytest.fixture
def eval_project(tmp_path, tiny_checkpoint, tiny_adapters) -> Path:
    return write_eval_project(tmp_path / "project", tiny_checkpoint, tiny_adapters)



def state(root: Path) -> tuple[str | None, list[str]]:
    """The task's current deployment id and its history ids (oldest first); the file must read."""
    entry = load_index(root).get("triage")
    if entry is None:
        return None, []
    return (entry.current.id if entry.current else None), [d.id for d in entry.history]


def after_promote(before: tuple[str | None, list[str]], candidate: str) -> tuple[str | None, list[str]]:
    """What a promotion of ``candidate`` does to a state, applied alone (the serial model)."""
    current, history = before
    return candidate, history + [current] if current and current != candidate else history


def after_rollback(before: tuple[str | None, list[str]]) -> tuple[str | None, list[str]]:
    current, history = before
    return (history[-1], history[:-1]) if history else before


@pytest.mark.slow
def test_racing_promotions_are_serialised_never_lost(tmp_path):
    """Two `registry promote` at once, 20 rounds: the result is always one of the two serial orders."""
    for round_ in range(PROMOTION_ROUNDS):
        first, second = (make_candidate(tmp_path, f"r{round_:02d}{side}", verdict="accepted").name for side in "ab")
        before = state(tmp_path)
        processes = [harness_process("registry", "--root", tmp_path, "promote", name) for name in (first, second)]
        results = [finish(p) for p in processes]
        assert all(code == 0 for code, _ in results), results
        after = state(tmp_path)
        serial = [after_promote(after_promote(before, first), second), after_promote(after_promote(before, second), first)]
        assert after in serial, f"round {round_}: {after} is no serial outcome of {before} (+{first}, +{second})"
        assert all((tmp_path / ident / "manifest.json").exists() for ident in [after[0], *after[1]])
    assert len(state(tmp_path)[1]) == 2 * PROMOTION_ROUNDS - 1  # every promotion but the last is in the history


@pytest.mark.slow
def test_a_rollback_racing_a_promotion_is_one_or_the_other_first(tmp_path):
    for round_ in range(ROLLBACK_ROUNDS):
        for side in "ab":
            make_candidate(tmp_path, f"k{round_:02d}{side}", verdict="accepted")
            assert finish(harness_process("registry", "--root", tmp_path, "promote", f"k{round_:02d}{side}"))[0] == 0
        newest = make_candidate(tmp_path, f"k{round_:02d}c", verdict="accepted").name
        before = state(tmp_path)
        processes = [harness_process("registry", "--root", tmp_path, "promote", newest),
                     harness_process("registry", "--root", tmp_path, "rollback", "triage")]
        results = [finish(p) for p in processes]
        assert all(code == 0 for code, _ in results), results
        after = state(tmp_path)
        serial = [after_rollback(after_promote(before, newest)), after_promote(after_rollback(before), newest)]
        assert after in serial, f"round {round_}: {after} is no serial outcome of {before}"


@pytest.mark.slow
def test_a_held_registry_lock_makes_a_promotion_wait_and_say_so(tmp_path):
    """While another process holds the lock, a promotion waits (one line) and then applies on top of it."""
    make_candidate(tmp_path, "c1", verdict="accepted")
    holder = subprocess.Popen([sys.executable, "-c", (
        "import sys; from filelock import FileLock; lock = FileLock(sys.argv[1]); lock.acquire(); "
        "print('held', flush=True); sys.stdin.readline()"), str(tmp_path / "registry.json.lock")],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
    promoter = harness_process("registry", "--root", tmp_path, "promote", "c1")
    assert promoter.stderr is not None
    first = ""  # the lock is held until we release it, however slow the start: no timing in this test
    while "waiting for another process that is changing the registry" not in first:
        line = promoter.stderr.readline()
        assert line, f"the promotion ended without waiting: {first}"
        first += line
    assert state(tmp_path) == (None, [])  # nothing applied while it waits
    holder.communicate("release\n", timeout=30)
    code, output = finish(promoter)
    assert code == 0, first + output
    assert state(tmp_path) == ("c1", [])


# --- four evaluations sharing one generation cache and one history store -------------------------------------------

EVALS = 4


@pytest.mark.slow
def test_four_evals_share_one_cache_and_one_store(eval_project, tmp_path):
    """`pytest -n 4` or a nightly job beside a developer: no "database is locked", every run indexed once."""
    config = eval_project / "harness.yaml"
    store, cache = tmp_path / "history.sqlite", tmp_path / "cache"
    env = {"HARNESS_HISTORY": str(store), "HARNESS_CACHE_DIR": str(cache)}
    processes = [harness_process("eval", "--config", config, "--runs-dir", tmp_path / "runs", env=env)
                 for _ in range(EVALS)]
    results = [finish(p, timeout=600) for p in processes]
    assert all(code == 0 for code, _ in results), results
    assert not any("locked" in output for _, output in results)
    runs = sorted(p.name for p in (tmp_path / "runs").iterdir())
    assert len(runs) == EVALS and not any(name.startswith(".") for name in runs)
    with sqlite3.connect(store) as conn:
        indexed = [row[0] for row in conn.execute("SELECT run_id FROM runs ORDER BY run_id")]
        outputs = conn.execute("SELECT COUNT(*), COUNT(DISTINCT run_id || variant || case_id || sample) FROM outputs"
                               ).fetchone()
    assert indexed == runs  # each run once, none lost
    assert outputs[0] == outputs[1]  # no output row twice
    per_run = [sum(1 for _ in (tmp_path / "runs" / name / "results.jsonl").open()) for name in runs]
    assert outputs[0] == sum(per_run)
    # every generation is in the shared cache now: a fifth run generates nothing
    code, output = finish(harness_process("eval", "--config", config, "--runs-dir", tmp_path / "runs5", env=env),
                          timeout=600)
    assert code == 0, output
    (fifth,) = (tmp_path / "runs5").iterdir()
    results = [json.loads(line) for line in (fifth / "results.jsonl").read_text().splitlines()]
    assert len(results) == per_run[0] and all(r["generation"]["cached"] for r in results)
