"""Assemble the report from the history store."""

from __future__ import annotations

import datetime as dt
import logging
import sqlite3
from pathlib import Path

import harness.reports.load as load
import harness.reports.sections as sections
from harness.reports.compare import compare
from harness.reports.load import RunInfo
from harness.reports.model import Report, TaskReport
from harness.reports.parity import parity_figures
from harness.reports.plots import change_markers

from harness.errors import InputError
from harness.history.records import DecisionRecord
from harness.history.schema import connect

log = logging.getLogger(__name__)


def open_store(path: Path) -> sqlite3.Connection:
    """Open an existing store.

    Raises:
        InputError: no store there, or it cannot be read.
    """
    if not path.is_file():
        raise InputError("no history store here; index runs first with `harness history import runs/ candidates/`",
                         path=str(path), code="no-history")
    return connect(path)


def build_report(store: Path, out_dir: Path, task: str | None = None, since: str | None = None,
                 last: int | None = None) -> Report:
    """The report over the store's runs (one task or all), from ``since`` on, the ``last`` N runs per task.

    Raises:
        InputError: unreadable store, unknown task, or no runs in the window.
    """
    conn = open_store(store)
    try:
        known = load.tasks(conn)
        if task is not None and task not in known:
            raise InputError(f"unknown task {task!r}; the store has runs of: {', '.join(known) or 'none'}",
                             path=str(store), code="unknown-task")
        reports = [r for t in ([task] if task else known) if (r := task_report(conn, t, out_dir, since, last))]
        reports.sort(key=lambda r: (not r.regressions, r.task))  # tasks with regressions first
        if not reports:
            window = f" since {since}" if since else ""
            raise InputError(f"no runs{window}{' of ' + task if task else ''} in the store; "
                             "run `harness eval` or `harness history import runs/`", path=str(store), code="no-runs")
        window = ", ".join(filter(None, [f"since {since}" if since else "", f"last {last} runs" if last else ""]))
        decisions = load.decisions(conn, task, since)
        return Report(dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), str(store), reports,
                      decisions, window or "all runs", parity=parity_figures(decisions))
    finally:
        conn.close()


def _accepted(conn: sqlite3.Connection, task: str) -> tuple[DecisionRecord | None, str | None]:
    """The newest accepting decision of ``task`` whose run is in the store, and that run id."""
    for decision in load.decisions(conn, task):
        if decision.verdict == "accepted" and decision.run_id and \
                conn.execute("SELECT 1 FROM runs WHERE run_id = ?", (decision.run_id,)).fetchone():
            return decision, decision.run_id
    return None, None


def _previous(runs: list[RunInfo]) -> RunInfo | None:
    """The newest earlier run sharing a variant with the latest, from the same eval config when there is one.

    Same config first: the gate's general-capability runs of two tasks' candidates share the task
    ``general`` and the variant name ``fine-tuned`` but come from each task's own ``harness.yaml``;
    comparing one task's candidate with the other's would report a regression between two different
    models. With no earlier run of the same config (the config itself changed), the newest run
    sharing a variant is the comparison, as before, and the trend plot marks the config change.
    """
    latest = runs[-1]
    sharing = [r for r in reversed(runs[:-1]) if set(r.adapters) & set(latest.adapters)]
    return next((r for r in sharing if r.config == latest.config), sharing[0] if sharing else None)


def task_report(conn: sqlite3.Connection, task: str, out_dir: Path, since: str | None, last: int | None) -> TaskReport | None:
    """One task's sections; None when it has no runs in the window."""
    runs = load.runs(conn, task, since, last)
    if not runs:
        return None
    latest, previous = runs[-1], _previous(runs)
    decision, accepted_run = _accepted(conn, task)
    wanted = [r.run_id for r in runs] + ([accepted_run] if accepted_run else [])
    metrics = load.metrics(conn, wanted)
    latest_scores = load.case_scores(conn, latest.run_id)
    previous_scores = load.case_scores(conn, previous.run_id) if previous else None
    comparisons = compare(metrics[previous.run_id], metrics[latest.run_id], previous_scores or {}, latest_scores) \
        if previous else []
    link = sections.link(str(Path(latest.path) / "results.jsonl"), out_dir)
    cases, counts = sections.case_diff(conn, runs, latest_scores, previous_scores, link)
    markers = change_markers(runs)
    return TaskReport(
        task=task, runs=runs, latest=latest, latest_link=link, previous=previous, accepted=decision,
        table=sections.table(metrics[latest.run_id], comparisons, metrics.get(accepted_run) if accepted_run else None),
        regressions=[c for c in comparisons if c.regression], cases=cases, case_counts=counts,
        trends=sections.trends(runs, metrics, markers), markers=markers,
        winners=sections.winners(latest, metrics[latest.run_id], latest_scores),
        costs=sections.costs(latest, metrics[latest.run_id], load.training_seconds(conn)),
        extra_trends=sections.figure_trends(load.figures(conn, task, since)))
