"""Read what the report needs from the history store: runs, metrics, case scores, decisions, figures."""

from __future__ import annotations

import json
import logging
import sqlite3
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from harness.history.records import CheckRow, DecisionRecord, Figure, MetricRow

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RunInfo:
    """One indexed run's identity."""

    run_id: str
    task: str
    created_at: str
    path: str
    git_sha: str | None
    model: str | None
    data: str | None
    config: str | None
    decoding: str | None
    repeats: int
    n_cases: int
    adapters: dict[str, str | None] = field(default_factory=dict)
    """variant → adapter sha256 (None for variants without an adapter)."""
    kinds: dict[str, str | None] = field(default_factory=dict)
    """variant → ``prompt``, ``rag`` or ``adapter``."""

    def identity(self, variant: str) -> tuple[str | None, ...]:
        """Everything that decides a variant's outputs: equal identities should give equal verdicts."""
        return (self.model, self.data, self.config, self.decoding, self.adapters.get(variant))


CaseScores = dict[str, dict[str, dict[int, dict[str, float | None]]]]
"""variant → case id → sample → metric → score."""


def tasks(conn: sqlite3.Connection) -> list[str]:
    """Every task with at least one indexed run."""
    return [row[0] for row in conn.execute("SELECT DISTINCT task FROM runs ORDER BY task")]


def runs(conn: sqlite3.Connection, task: str, since: str | None = None, last: int | None = None) -> list[RunInfo]:
    """The task's runs, oldest first, from ``since`` on, at most the ``last`` N."""
    rows = conn.execute("SELECT run_id, task, created_at, path, git_sha, model_sha256, data_sha256, config_sha256, decoding,"
                        " repeats, n_cases FROM runs WHERE task = ? AND created_at >= ? ORDER BY created_at DESC, run_id DESC"
                        + (" LIMIT ?" if last else ""), (task, since or "", *([last] if last else []))).fetchall()
    adapters: dict[str, dict[str, str | None]] = defaultdict(dict)
    kinds: dict[str, dict[str, str | None]] = defaultdict(dict)
    for run_id, variant, sha, kind in conn.execute("SELECT v.run_id, v.variant, v.adapter_sha256, v.kind FROM variants v"
                                                   " JOIN runs r USING (run_id) WHERE r.task = ?", (task,)):
        adapters[run_id][variant], kinds[run_id][variant] = sha, kind
    return [_run_info(row, adapters[row[0]], kinds[row[0]]) for row in reversed(rows)]


def _run_info(row: tuple, adapters: dict[str, str | None], kinds: dict[str, str | None]) -> RunInfo:
    run_id, task, created_at, path, git_sha, model, data, config, decoding, repeats, n_cases = row
    return RunInfo(run_id, task, created_at, path, git_sha, model, data, config, decoding, repeats, n_cases, adapters, kinds)


def metrics(conn: sqlite3.Connection, run_ids: Sequence[str]) -> dict[str, list[MetricRow]]:
    """run id → its metric rows."""
    out: dict[str, list[MetricRow]] = defaultdict(list)
    for chunk in _chunks(run_ids):
        marks = ",".join("?" * len(chunk))
        for run_id, variant, metric, kind, value, low, high, n, better, binary in conn.execute(
                f"SELECT run_id, variant, metric, kind, value, low, high, n, higher_is_better, binary"
                f" FROM metrics WHERE run_id IN ({marks})", chunk):
            out[run_id].append(MetricRow(variant, metric, kind, value, low, high, n, better == 1, binary == 1))
    return out


def case_scores(conn: sqlite3.Connection, run_id: str) -> CaseScores:
    """Every per-case score of one run."""
    out: CaseScores = defaultdict(lambda: defaultdict(lambda: defaultdict(dict)))
    for variant, case_id, sample, metric, value in conn.execute(
            "SELECT variant, case_id, sample, metric, value FROM scores WHERE run_id = ?", (run_id,)):
        out[variant][case_id][sample][metric] = value
    return out


def outputs(conn: sqlite3.Connection, run_id: str, variant: str,
            case_ids: Sequence[str]) -> dict[str, tuple[str | None, str | None]]:
    """case id → (output, error) of sample 0."""
    out = {}
    for chunk in _chunks(case_ids):
        marks = ",".join("?" * len(chunk))
        for case_id, text, error in conn.execute(f"SELECT case_id, output, error FROM outputs WHERE run_id = ? AND variant = ?"
                                                 f" AND sample = 0 AND case_id IN ({marks})", (run_id, variant, *chunk)):
            out[case_id] = (text, error)
    return out


def cases(conn: sqlite3.Connection, case_ids: Sequence[str]) -> dict[str, tuple[str, str | None, str | None]]:
    """case id → (input messages JSON, expected, source)."""
    out = {}
    for chunk in _chunks(case_ids):
        marks = ",".join("?" * len(chunk))
        for case_id, text, expected, source in conn.execute(
                f"SELECT case_id, input, expected, source FROM cases WHERE case_id IN ({marks})", chunk):
            out[case_id] = (text, expected, source)
    return out


def decisions(conn: sqlite3.Connection, task: str | None, since: str | None = None) -> list[DecisionRecord]:
    """Decisions, newest first (all tasks when ``task`` is None)."""
    rows = conn.execute("SELECT path, content_sha256, task, candidate, verdict, created_at, run_id, adapter_sha256, training_s,"
                        " checks, schema_version FROM decisions WHERE (? IS NULL OR task = ?) AND created_at >= ?"
                        " ORDER BY created_at DESC", (task, task, since or "")).fetchall()
    return [_decision(row) for row in rows]


def _decision(row: tuple) -> DecisionRecord:
    path, content, task, candidate, verdict, created_at, run_id, adapter, training_s, checks, version = row
    return DecisionRecord(path, content, task, candidate, verdict, created_at, run_id, adapter, training_s,
                          [CheckRow(*c) for c in json.loads(checks)], version)


def figures(conn: sqlite3.Connection, task: str, since: str | None = None) -> list[Figure]:
    """Figures added by other sources (judge, monitor ...), oldest first."""
    rows = conn.execute("SELECT source, kind, time, task, name, value, low, high, n, run_id, detail FROM figures"
                        " WHERE task = ? AND time >= ? ORDER BY time", (task, since or "")).fetchall()
    return [Figure(*row) for row in rows]


def training_seconds(conn: sqlite3.Connection) -> dict[str, float]:
    """adapter sha256 → training wall seconds (from the decisions' candidate manifests)."""
    return {sha: s for sha, s in conn.execute("SELECT adapter_sha256, training_s FROM decisions WHERE training_s IS NOT NULL"
                                              " AND adapter_sha256 IS NOT NULL")}


def _chunks(items: Sequence[str], size: int = 500) -> list[list[str]]:
    items = list(items)
    return [items[i:i + size] for i in range(0, len(items), size)] or [[]]
