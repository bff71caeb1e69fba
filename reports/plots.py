"""Trend plots as inline SVG (matplotlib, Agg): one per metric, a line and 95% band per variant,
and a dashed marker wherever the model, an adapter, the data or the config changed."""

from __future__ import annotations

import datetime as dt
import io
import logging
from collections.abc import Sequence
from dataclasses import dataclass

import matplotlib
import matplotlib.dates as mdates
from matplotlib.axes import Axes
from matplotlib.backends.backend_svg import FigureCanvasSVG
from matplotlib.figure import Figure

from reports.load import RunInfo

log = logging.getLogger(__name__)
matplotlib.rcParams.update({"svg.fonttype": "none", "svg.hashsalt": "harness-report", "font.size": 9})


@dataclass(frozen=True)
class Point:
    """One run's value of one variant × metric."""

    time: dt.datetime
    value: float
    low: float | None
    high: float | None


@dataclass(frozen=True)
class Marker:
    """A run where something that decides results changed."""

    time: dt.datetime
    label: str
    """Which hashes changed, e.g. ``adapter(fine-tuned), data``."""


def parse_time(text: str) -> dt.datetime:
    """An ISO time from a manifest (naive times are taken as UTC)."""
    value = dt.datetime.fromisoformat(text)
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def change_markers(runs: Sequence[RunInfo]) -> list[Marker]:
    """Markers at every run whose model, adapter, data or config hash differs from the run before."""
    markers = []
    for before, after in zip(runs, runs[1:], strict=False):
        changed = [name for name, a, b in (("model", before.model, after.model), ("data", before.data, after.data),
                                            ("config", before.config, after.config)) if a != b]
        changed += [f"adapter({v})" for v in sorted(after.adapters) if v in before.adapters
                    and before.adapters[v] != after.adapters[v]]
        if changed:
            markers.append(Marker(parse_time(after.created_at), ", ".join(changed)))
    return markers


def trend_svg(metric: str, series: dict[str, list[Point]], markers: Sequence[Marker]) -> str:
    """One metric's trend over time, every variant, as an ``<svg>`` element string."""
    fig = Figure(figsize=(7.2, 2.6))  # no pyplot: no global state, no GUI backend, nothing to close
    FigureCanvasSVG(fig)
    fig.subplots_adjust(left=0.08, right=0.8, top=0.88, bottom=0.16)  # fixed margins: one draw, not two
    ax = fig.add_subplot()
    for variant, points in series.items():
        _line(ax, variant, points)
    for number, marker in enumerate(markers, 1):
        at = float(mdates.date2num(marker.time))
        ax.axvline(at, color="#b45309", linestyle="--", linewidth=0.9)
        ax.annotate(f"{number}", (at, 1.0), xycoords=("data", "axes fraction"), xytext=(2, -10),
                    textcoords="offset points", color="#b45309", fontsize=8)
    ax.set_title(metric, loc="left", fontsize=10)
    ax.grid(alpha=0.3)
    locator = mdates.AutoDateLocator()
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
    ax.legend(loc="center left", bbox_to_anchor=(1.0, 0.5), frameon=False, fontsize=8)
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg")
    text = buffer.getvalue()
    return text[text.index("<svg"):]


def _line(ax: Axes, variant: str, points: list[Point]) -> None:
    times = mdates.date2num([p.time for p in points])
    (line,) = ax.plot(times, [p.value for p in points], marker="o" if len(points) < 60 else None,
                      markersize=3, linewidth=1.4, label=variant)
    banded = [p for p in points if p.low is not None and p.high is not None]
    if banded:
        ax.fill_between(mdates.date2num([p.time for p in banded]), [p.low or 0.0 for p in banded],
                        [p.high or 0.0 for p in banded], color=line.get_color(), alpha=0.15, linewidth=0)
