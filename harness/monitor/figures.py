"""The monitor's figures as a typed record, for the run history and the report over time.

The history store keeps one :class:`MonitorFigures` per monitor run: either computed now,
``monitor_figures(MonitorOptions(logs, reference, heldout=...))``, or read back from a saved
``harness monitor --format json`` output with :func:`load_figures`. Both go through the same
JSON object, so they agree.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.errors import InputError
from harness.history.records import Figure
from harness.monitor.records import MonitorReport

if TYPE_CHECKING:
    from harness.monitor.run import MonitorOptions


@dataclass(frozen=True)
class WindowFigures:
    """One window's headline figures (None where a check could not run)."""

    label: str
    """The window's start (a date for whole-day windows), ``all`` or ``undated``."""
    n: int
    """Log records in the window."""
    drift: bool
    health_flagged: bool
    schema_failure_rate: float | None
    domain_auc: float | None
    """The domain classifier's cross-validated AUC."""
    domain_auc_threshold: float | None
    """The highest permuted AUC computed (the window drifts when the AUC is above it after all permutations)."""
    domain_p: float | None
    length_p: float | None
    unseen_vocabulary_p: float | None
    field_p: dict[str, float | None]
    """Per output field, the chi-square p-value against the held-out outputs."""
    uncovered_share: float | None
    """Share of the window's inputs the held-out set does not cover."""
    largest_uncovered_cluster: int
    latency_p50: float | None
    latency_p95: float | None


@dataclass(frozen=True)
class MonitorFigures:
    """A monitor run's figures: what the history store keeps."""

    logs: str
    reference: str
    window: str
    alpha: float
    drift: bool
    health_flagged: bool
    records: int
    malformed: int
    windows: tuple[WindowFigures, ...]

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data, for the history store."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MonitorFigures:
        """The figures back from :meth:`to_dict`'s data."""
        windows = tuple(WindowFigures(**w) for w in data["windows"])
        return cls(**{**data, "windows": windows})


def figures_of(report: MonitorReport) -> MonitorFigures:
    """The figures of a monitor report."""
    return figures_from_json(report.to_dict())


def monitor_figures(options: MonitorOptions) -> MonitorFigures:
    """Run the monitor and return its figures (what the run history stores)."""
    from harness.monitor.run import run_monitor

    return figures_of(run_monitor(options))


def load_figures(path: str | Path) -> MonitorFigures:
    """Figures from a saved ``harness monitor --format json`` output.

    Raises:
        InputError: the file is not such an output.
    """
    try:
        return figures_from_json(json.loads(Path(path).read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise InputError(f"not a `harness monitor --format json` output ({exc})", path=str(path),
                         code="bad-monitor-json") from exc


def figures_from_json(data: dict[str, Any]) -> MonitorFigures:
    """Figures from the JSON object of ``harness monitor --format json``."""
    return MonitorFigures(
        data["logs"], data["reference"], data["window"], float(data["alpha"]), bool(data["drift"]),
        bool(data["health"]["flagged"]), int(data["lines"]["records"]), int(data["lines"]["malformed"]),
        tuple(_window(w) for w in data["windows"]),
    )


def _window(window: dict[str, Any]) -> WindowFigures:
    checks = {c["name"]: c for c in window["health"] + window["inputs"]}
    coverage = window.get("coverage") or {}
    clusters = coverage.get("clusters") or []
    domain = checks.get("domain_classifier", {})
    return WindowFigures(
        window["label"], window["n"], window["drift"], window["health_flagged"],
        checks.get("schema_failures", {}).get("statistic"), domain.get("statistic"), domain.get("threshold"),
        domain.get("p"), checks.get("length", {}).get("p"), checks.get("unseen_vocabulary", {}).get("p"),
        {name[len("field:"):]: c["p"] for name, c in checks.items() if name.startswith("field:")},
        coverage["uncovered"] / coverage["n"] if coverage.get("n") else None,
        clusters[0]["count"] if clusters else 0, window["latency"]["p50"], window["latency"]["p95"],
    )


def history_figures(figures: MonitorFigures, task: str) -> list[Figure]:
    """The monitor's headline figures as rows of the run history (the report plots them per task over time).

    One row per window and figure: schema-failure rate, domain-classifier AUC, uncovered share and
    latency p95, timed at the window's start (the monitor run's time for ``all``/undated windows).
    """
    now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    rows = []
    for w in figures.windows:
        time = _window_time(w.label) or now
        detail = f"{figures.logs}: {w.n} records" + (", drift" if w.drift else "") + (", health" if w.health_flagged else "")
        for name, value in (("schema_failure_rate", w.schema_failure_rate), ("domain_auc", w.domain_auc),
                            ("uncovered_share", w.uncovered_share), ("latency_p95_s", w.latency_p95)):
            if value is not None:
                rows.append(Figure("monitor", name, time, task, f"monitor/{name}", float(value), n=w.n, detail=detail))
    return rows


def _window_time(label: str) -> str | None:
    try:
        return dt.datetime.fromisoformat(label).replace(tzinfo=dt.UTC).isoformat(timespec="seconds")
    except ValueError:
        return None
