"""Render the report to ``index.html`` (self-contained: inline CSS and SVG, no network) and ``report.md``."""

from __future__ import annotations

import logging
from collections import defaultdict
from pathlib import Path

import jinja2

from harness.fileio import atomic_write_text
from reports.model import Report, TableRow

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
    return variants, sorted(by_metric.items())


def environment() -> jinja2.Environment:
    """The templates (package data of ``reports``) with the report's filters."""
    env = jinja2.Environment(loader=jinja2.PackageLoader("reports", "templates"), autoescape=jinja2.select_autoescape(["html"]),
                             trim_blocks=True, lstrip_blocks=True, undefined=jinja2.StrictUndefined)
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
