"""Render the report to ``index.html`` (self-contained: inline CSS and SVG, no network) and ``report.md``."""

from __future__ import annotations

import logging
from collections import defaultdict
from pathlib import Path

import jinja2
from harness.reports.model import Report, TableRow
from markupsafe import Markup

from harness.fileio import atomic_write_text, replace_lone_surrogates

log = logging.getLogger(__name__)


def number(value: float | None, digits: int = 3) -> str:
    """A value for the page; ``–`` where there is none."""
    return "–" if value is None else f"{value:.{digits}f}"


def signed(value: float | None, digits: int = 3) -> str:
    """A change with its sign (a true minus sign, so columns line up)."""
    return "–" if value is None else f"{value:+.{digits}f}".replace("-", "−")


def pvalue(value: float | None) -> str:
    """A p-value in the usual short form, ``p = 0.012`` or ``p < 0.001``."""
    return "–" if value is None else ("p < 0.001" if value < 0.001 else f"p = {value:.3f}")


def matrix(rows: list[TableRow]) -> tuple[list[str], list[tuple[str, dict[str, TableRow]]]]:
    """Pivot the latest run's rows into (variants, [(metric, {variant: row})]) without the costs."""
    variants = sorted({r.variant for r in rows})
    by_metric: dict[str, dict[str, TableRow]] = defaultdict(dict)
    for row in rows:
        if row.kind != "cost":
            by_metric[row.metric][row.variant] = row
    return variants, sorted(by_metric.items(), key=lambda item: _metric_order(item[0]))


def _metric_order(metric: str) -> str:
    """Alphabetical, except that ``tone_joint`` heads its axes (tone_style, tone_meaning, tone_fluency) beside it."""
    return "tone_" if metric == "tone_joint" else metric


def printable(value: object) -> object:
    """A template value with lone surrogates (from JSON escapes such as ``"\\ud800"``) replaced by U+FFFD.

    Python's JSON reader keeps a lone surrogate as it is; it cannot be written as UTF-8, so the
    page would fail to write. Every ``{{ }}`` value passes through here before it is escaped.
    """
    if isinstance(value, Markup):
        return Markup(replace_lone_surrogates(str(value)))
    if isinstance(value, str):
        return replace_lone_surrogates(value)
    return value


def environment() -> jinja2.Environment:
    """The templates (package data of ``reports``) with the report's filters.

    Autoescaping is on for every HTML template (``index.html.j2`` included: jinja2's
    ``select_autoescape(["html"])`` matches only names *ending* in ``.html``, which left the page
    unescaped) and off for Markdown. Text from held-out files, logs and models is data, never markup.
    """
    autoescape = jinja2.select_autoescape(enabled_extensions=("html", "htm", "xml", "html.j2", "svg.j2"),
                                          disabled_extensions=("md.j2", "css"), default_for_string=True, default=True)
    env = jinja2.Environment(loader=jinja2.PackageLoader("harness.reports", "templates"), autoescape=autoescape,
                             trim_blocks=True, lstrip_blocks=True, undefined=jinja2.StrictUndefined, finalize=printable)
    env.filters.update(number=number, signed=signed, pvalue=pvalue)
    env.globals.update(matrix=matrix)
    return env


def write_report(report: Report, out_dir: Path) -> tuple[Path, Path]:
    """Write ``index.html`` and ``report.md`` into ``out_dir`` (each atomically) and return their paths."""
    env = environment()
    html, markdown = out_dir / "index.html", out_dir / "report.md"
    atomic_write_text(html, env.get_template("index.html.j2").render(report=report))
    atomic_write_text(markdown, env.get_template("report.md.j2").render(report=report))
    return html, markdown
