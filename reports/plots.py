"""Trend plots as inline SVG (matplotlib's SVG backend): a panel per metric, a line and 95% band
per variant, and a dashed marker wherever the model, an adapter, the data or the config changed."""

from __future__ import annotations

import datetime as dt
import io
import logging
from collections.abc import Sequence
from dataclasses import dataclass

import matplotlib
import matplotlib.dates as mdates
from harness.reports.load import RunInfo
from matplotlib.axes import Axes
from matplotlib.backends.backend_svg import FigureCanvasSVG
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from harness.fileio import replace_lone_surrogates

log = logging.getLogger(__name__)
MAX_NUMBERED = 30
"""More change markers than this are drawn without numbers (the list under the plot has them all)."""
# text.parse_math off: a variant or metric name is data; "$x$" in it is drawn as written, not parsed as TeX
matplotlib.rcParams.update({"svg.fonttype": "none", "svg.hashsalt": "harness-report", "font.size": 9,
                            "text.parse_math": False})
def plot_label(text: str) -> str:
    """A name from configs or data as a plot label: lone surrogates replaced (the SVG must encode as UTF-8).

    Matplotlib's SVG writer escapes ``<``, ``>``, ``&`` and quotes in text and attributes, so a
    label such as ``</svg><script>`` stays text inside the inline SVG.
    """
    return replace_lone_surrogates(text)


@dataclass(frozen=True)
class Point:
    """One run's value of one variant × metric."""

    time: float
    """Matplotlib date number (days since the epoch): converted once per run, not once per point drawn."""
    value: float
    low: float | None
    high: float | None


@dataclass(frozen=True)
class Marker:
    """A run where something that decides results changed."""

    time: dt.datetime
    label: str
    """Which hashes changed, e.g. ``adapter(fine-tuned), data``."""


def date_number(text: str) -> float:
    """An ISO time as a matplotlib date number."""
    return float(mdates.date2num(parse_time(text)))


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


def trends_svg(panels: dict[str, dict[str, list[Point]]], markers: Sequence[Marker]) -> str:
    """Every metric's trend over time (one panel each, every variant with its band) as one ``<svg>``.

    One figure with a shared time axis: the dates and the legend are drawn once, which is
    what keeps a thousand nights × six metrics within the report's time budget.
    """
    fig = Figure(figsize=(8.4, 0.5 + 1.9 * len(panels)))  # no pyplot: no global state, no GUI backend
    FigureCanvasSVG(fig)
    fig.subplots_adjust(left=0.07, right=0.8, top=1 - 0.3 / fig.get_figheight(), bottom=0.45 / fig.get_figheight(),
                        hspace=0.35)
    axes = fig.subplots(len(panels), 1, sharex=True, squeeze=False)[:, 0]
    for ax, (metric, series) in zip(axes, panels.items(), strict=True):
        for variant, points in series.items():
            _line(ax, variant, points)
        # a plain text, not set_title: title placement measures every tick label of the axes
        ax.text(0.0, 1.02, plot_label(metric), transform=ax.transAxes, fontsize=9.5, va="bottom")
        ax.yaxis.set_major_locator(MaxNLocator(4))
        ax.grid(alpha=0.3)
        _markers(ax, markers, numbered=ax is axes[0])
    locator = mdates.AutoDateLocator()
    axes[-1].xaxis.set_major_locator(locator)
    axes[-1].xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
    axes[0].legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False, fontsize=8)
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg")
    text = buffer.getvalue()
    return text[text.index("<svg"):]


def _markers(ax: Axes, markers: Sequence[Marker], numbered: bool) -> None:
    """Dashed lines where hashes changed; numbered (as in the list under the plot) on the top panel."""
    if not markers:
        return
    at = [float(mdates.date2num(m.time)) for m in markers]
    ax.vlines(at, 0, 1, transform=ax.get_xaxis_transform(), colors="#b45309", linestyles="--", linewidth=0.8)
    if numbered and len(markers) <= MAX_NUMBERED:
        for number, x in enumerate(at, 1):
            ax.annotate(f"{number}", (x, 1.0), xycoords=("data", "axes fraction"), xytext=(2, -9),
                        textcoords="offset points", color="#b45309", fontsize=7.5)


def _line(ax: Axes, variant: str, points: list[Point]) -> None:
    times = [p.time for p in points]
    (line,) = ax.plot(times, [p.value for p in points], marker="o" if len(points) < 60 else None,
                      markersize=3, linewidth=1.3, label=plot_label(variant))
    banded = [p for p in points if p.low is not None and p.high is not None]
    if banded:
        ax.fill_between([p.time for p in banded], [p.low or 0.0 for p in banded],
                        [p.high or 0.0 for p in banded], color=line.get_color(), alpha=0.15, linewidth=0)
