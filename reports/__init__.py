"""Nightly regression reports from the run history: ``harness report``.

``build_report`` reads the history store (``harness.history``) into a typed :class:`Report`;
``write_report`` renders it to a self-contained ``index.html`` and a ``report.md``.
"""

from harness.reports.build import build_report
from harness.reports.model import Report
from harness.reports.render import write_report

__all__ = ["Report", "build_report", "write_report"]
