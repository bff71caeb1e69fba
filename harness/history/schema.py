"""The history store's schema: SQLite in WAL mode, versioned with ``PRAGMA user_version``.

Why SQLite: it ships with Python (no new dependency), one file that CI can upload and a
laptop can open, transactions make "one run = one transaction" trivial (a half-indexed run
cannot exist), WAL lets ``pytest -n`` workers and a report read while a run is being
indexed, and the report's queries (latest runs per task, one metric over time, one run's
cases) are indexed point and range lookups, not scans. DuckDB/Parquet would be faster for
wide scans across millions of case rows, which the report never does (bench/report.py).
"""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

from harness.errors import InputError

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1

DDL = """
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY, task TEXT NOT NULL, created_at TEXT NOT NULL, path TEXT NOT NULL,
    content_sha256 TEXT NOT NULL, git_sha TEXT, git_dirty INTEGER, model_sha256 TEXT, data_sha256 TEXT,
    config_sha256 TEXT, decoding TEXT, repeats INTEGER, n_cases INTEGER, indexed_at TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS runs_task_time ON runs (task, created_at);
CREATE TABLE IF NOT EXISTS variants (
    run_id TEXT NOT NULL REFERENCES runs ON DELETE CASCADE, variant TEXT NOT NULL, kind TEXT,
    adapter_sha256 TEXT, spec_sha256 TEXT, PRIMARY KEY (run_id, variant));
CREATE TABLE IF NOT EXISTS metrics (
    run_id TEXT NOT NULL REFERENCES runs ON DELETE CASCADE, variant TEXT NOT NULL, metric TEXT NOT NULL,
    kind TEXT NOT NULL, value REAL, low REAL, high REAL, n INTEGER NOT NULL, higher_is_better INTEGER NOT NULL,
    binary INTEGER NOT NULL, PRIMARY KEY (run_id, variant, metric));
CREATE TABLE IF NOT EXISTS cases (
    case_id TEXT PRIMARY KEY, task TEXT NOT NULL, input TEXT NOT NULL, expected TEXT, source TEXT);
CREATE TABLE IF NOT EXISTS outputs (
    run_id TEXT NOT NULL REFERENCES runs ON DELETE CASCADE, variant TEXT NOT NULL, case_id TEXT NOT NULL,
    sample INTEGER NOT NULL, output TEXT, error TEXT, PRIMARY KEY (run_id, variant, case_id, sample));
CREATE TABLE IF NOT EXISTS scores (
    run_id TEXT NOT NULL REFERENCES runs ON DELETE CASCADE, variant TEXT NOT NULL, case_id TEXT NOT NULL,
    sample INTEGER NOT NULL, metric TEXT NOT NULL, value REAL, PRIMARY KEY (run_id, variant, case_id, sample, metric))
    WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS decisions (
    path TEXT PRIMARY KEY, content_sha256 TEXT NOT NULL, task TEXT, candidate TEXT, verdict TEXT NOT NULL,
    created_at TEXT NOT NULL, run_id TEXT, adapter_sha256 TEXT, training_s REAL, checks TEXT NOT NULL,
    schema_version INTEGER);
CREATE INDEX IF NOT EXISTS decisions_task_time ON decisions (task, created_at);
-- The extension point: any figure from any source (judge scores, monitor figures, ...).
CREATE TABLE IF NOT EXISTS figures (
    source TEXT NOT NULL, kind TEXT NOT NULL, time TEXT NOT NULL, task TEXT NOT NULL, name TEXT NOT NULL,
    value REAL, low REAL, high REAL, n INTEGER, run_id TEXT, detail TEXT,
    PRIMARY KEY (source, kind, time, task, name));
CREATE INDEX IF NOT EXISTS figures_task_name ON figures (task, name, time);
"""


BUSY_TIMEOUT_S = 60
"""How long a writer waits for another process's transaction before it fails (``bench/concurrency.py``)."""


def connect(path: str | Path) -> sqlite3.Connection:
    """Open (creating if needed) the store at ``path``: WAL, foreign keys, schema at :data:`SCHEMA_VERSION`.

    Raises:
        InputError: the file is not a SQLite database or was written by a newer harness.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute("PRAGMA synchronous=NORMAL")
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise InputError(f"history store has schema version {version}; this harness reads up to {SCHEMA_VERSION}: "
                             "upgrade harness", path=str(path), code="history-version")
        if version < SCHEMA_VERSION:
            conn.executescript(f"BEGIN; {DDL} PRAGMA user_version = {SCHEMA_VERSION}; COMMIT;")
    except sqlite3.DatabaseError as exc:
        conn.close()
        if isinstance(exc, sqlite3.OperationalError) and ("locked" in str(exc) or "full" in str(exc)):
            raise  # busy past the timeout, or no space: not a damaged file (the callers say which)
        raise InputError(f"unreadable history store ({exc}); move it aside and run `harness history import runs/`",
                         path=str(path), code="history-unreadable") from exc
    except BaseException:
        conn.close()
        raise
    return conn
