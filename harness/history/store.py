"""Index runs and decisions into the history store, one transaction each.

The store lives at ``./.harness/history.sqlite`` by default (``$HARNESS_HISTORY`` overrides):
beside the project's ``runs/`` and ``candidates/`` it describes, git-ignored, and not in the
machine-wide harness cache, which is shared by every project on the machine.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import sqlite3
from collections.abc import Callable, Iterable
from dataclasses import astuple
from pathlib import Path
from typing import TypeVar

from harness.errors import HarnessError
from harness.fileio import disk_full, is_no_space
from harness.history.records import DecisionRecord, Figure, RunRecord
from harness.history.schema import connect

log = logging.getLogger(__name__)
T = TypeVar("T")

STORE_ENV = "HARNESS_HISTORY"


def default_store_path() -> Path:
    """``$HARNESS_HISTORY``, else ``./.harness/history.sqlite`` (also when it is ``off``: that only stops the hooks)."""
    value = os.environ.get(STORE_ENV, "")
    return Path(value) if value and value.lower() != "off" else Path(".harness") / "history.sqlite"


def _disabled(store_path: str | Path | None) -> bool:
    """``HARNESS_HISTORY=off`` turns automatic indexing off (e.g. in test sessions)."""
    return store_path is None and os.environ.get(STORE_ENV, "").lower() == "off"


def _quietly(index: Callable[[], T], what: str | Path, failed: T) -> T:
    """``index()``, or ``failed`` with a warning when the store or the artefact fails (hooks never fail a run)."""
    try:
        return index()
    except (HarnessError, sqlite3.Error, OSError) as exc:
        log.warning("history: %s not indexed (%s); `harness history import` can retry", what, exc)
        return failed


def _with_store(store_path: str | Path | None, write: Callable[[sqlite3.Connection], T]) -> T:
    """``write`` on a connection to the store (default :func:`default_store_path`), closed afterwards."""
    store = Path(store_path or default_store_path())
    try:
        conn = connect(store)
        try:
            return write(conn)
        finally:
            conn.close()
    except sqlite3.OperationalError as exc:
        if is_no_space(exc):  # the transaction was rolled back: the store is as it was
            raise disk_full(store) from None
        raise


def _existing(conn: sqlite3.Connection, table: str, key: str, value: str) -> str | None:
    row = conn.execute(f"SELECT content_sha256 FROM {table} WHERE {key} = ?", (value,)).fetchone()
    return row[0] if row else None


def write_run(conn: sqlite3.Connection, run: RunRecord) -> bool:
    """Insert ``run`` in one transaction (replacing an older copy with other content); False if already there."""
    if _existing(conn, "runs", "run_id", run.run_id) == run.content_sha256:
        return False
    now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    with _transaction(conn):
        conn.execute("DELETE FROM runs WHERE run_id = ?", (run.run_id,))
        conn.execute("INSERT INTO runs VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)", (
            run.run_id, run.task, run.created_at, run.path, run.content_sha256, run.git_sha,
            None if run.git_dirty is None else int(run.git_dirty), run.model_sha256, run.data_sha256,
            run.config_sha256, run.decoding, run.repeats, len(run.cases), now))
        conn.executemany("INSERT INTO variants VALUES (?,?,?,?,?)",
                         [(run.run_id, name, *info) for name, info in run.variants.items()])
        conn.executemany("INSERT INTO metrics VALUES (?,?,?,?,?,?,?,?,?,?)",
                         [(run.run_id, *astuple(m)) for m in run.metrics])
        conn.executemany("INSERT OR IGNORE INTO cases VALUES (?,?,?,?,?)", [astuple(c) for c in run.cases])
        conn.executemany("INSERT INTO outputs VALUES (?,?,?,?,?,?)",
                         [(run.run_id, o.variant, o.case_id, o.sample, o.output, o.error) for o in run.outputs])
        conn.executemany("INSERT INTO scores VALUES (?,?,?,?,?,?)",
                         [(run.run_id, o.variant, o.case_id, o.sample, metric, value)
                          for o in run.outputs for metric, value in o.scores.items()])
    return True


def write_decision(conn: sqlite3.Connection, decision: DecisionRecord) -> bool:
    """Insert or replace a decision; False if the same content is already there."""
    if _existing(conn, "decisions", "path", decision.path) == decision.content_sha256:
        return False
    checks = json.dumps([astuple(c) for c in decision.checks])
    with _transaction(conn):
        conn.execute("INSERT OR REPLACE INTO decisions VALUES (?,?,?,?,?,?,?,?,?,?,?)", (
            decision.path, decision.content_sha256, decision.task, decision.candidate, decision.verdict,
            decision.created_at, decision.run_id, decision.adapter_sha256, decision.training_s, checks,
            decision.schema_version))
    return True


def add_figures(figures: Iterable[Figure], store_path: str | Path | None = None, *, quiet: bool = False) -> int:
    """Add figures (judge scores, monitor figures ...) to the store; the report plots them per task and name.

    Returns how many were written: 0 when automatic indexing is off (``HARNESS_HISTORY=off`` and no
    ``store_path``), or when ``quiet`` and the store failed (logged as a warning, as :func:`index_run`).
    """
    if _disabled(store_path):
        return 0
    rows = list(figures)
    if quiet:
        return _quietly(lambda: add_figures(rows, store_path), f"{len(rows)} figure(s)", 0)
    return _with_store(store_path, lambda conn: write_figures(conn, rows))


def write_figures(conn: sqlite3.Connection, figures: Iterable[Figure]) -> int:
    """Add (or replace) figures from any source in one transaction; returns how many."""
    rows = [astuple(f) for f in figures]
    with _transaction(conn):
        conn.executemany("INSERT OR REPLACE INTO figures VALUES (?,?,?,?,?,?,?,?,?,?,?)", rows)
    return len(rows)


class _transaction:
    """``BEGIN IMMEDIATE`` … ``COMMIT``, or ``ROLLBACK`` on any exception."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def __enter__(self) -> None:
        self.conn.execute("BEGIN IMMEDIATE")

    def __exit__(self, kind: object, *_: object) -> None:
        self.conn.execute("COMMIT" if kind is None else "ROLLBACK")


def index_run(run_dir: str | Path, store_path: str | Path | None = None, *, quiet: bool = False) -> bool:
    """Index one run folder; True if it was new or changed.

    Args:
        run_dir: a folder written by the runner (``manifest.json`` + ``results.jsonl``).
        store_path: the store; default :func:`default_store_path` (``HARNESS_HISTORY=off``: do nothing).
        quiet: log a failure as a warning and return False instead of raising (for hooks).

    Raises:
        CorruptArtifact: the folder cannot be read whole (nothing is indexed).
    """
    from harness.history.readers import read_run

    if _disabled(store_path):
        return False
    if quiet:
        return _quietly(lambda: index_run(run_dir, store_path), run_dir, False)
    run = read_run(run_dir)
    return _with_store(store_path, lambda conn: write_run(conn, run))


def index_decision(path: str | Path, store_path: str | Path | None = None, *, quiet: bool = False) -> bool:
    """Index one ``decision.json``; True if it was new or changed (``store_path`` and ``quiet`` as :func:`index_run`).

    Raises:
        CorruptArtifact: unreadable or lacking a verdict.
    """
    from harness.history.readers import read_decision

    if _disabled(store_path):
        return False
    if quiet:
        return _quietly(lambda: index_decision(path, store_path), path, False)
    decision = read_decision(path)
    return _with_store(store_path, lambda conn: write_decision(conn, decision))
