"""``harness monitor``: read the logs, split them into windows, check each window."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from harness.errors import InputError
from harness.monitor.coverage import CoverageModel
from harness.monitor.embeddings import SentenceEncoder
from harness.monitor.health import DEFAULT_TOLERANCE, ReplyChecker, health_checks, latency
from harness.monitor.inputs import InputDriftModel
from harness.monitor.logs import read_logs
from harness.monitor.records import MonitorReport, WindowReport
from harness.monitor.reference import load_reference
from harness.monitor.windows import split_windows, window_seconds

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class MonitorOptions:
    """What ``harness monitor`` was asked to do."""

    logs: str | Path
    """The production log (chat-format JSONL with optional metadata)."""
    reference: str | Path
    """The training data."""
    heldout: str | Path | None = None
    """The held-out set: the field distributions and coverage compare with it."""
    schema: str | Path | None = None
    """A JSON Schema for replies; inferred from the reference outputs when None."""
    window: str = "1d"
    """Window width: 30m, 6h, 1d, 1w ... or ``all``."""
    alpha: float = 0.05
    """False-alarm level of each window's drift flag (and of its health flag)."""
    tolerance: float = DEFAULT_TOLERANCE
    """Schema-failure rate a healthy window may have."""
    embeddings: bool = False
    """Domain classifier on sentence embeddings instead of TF-IDF."""
    seed: int = 0


def run_monitor(options: MonitorOptions) -> MonitorReport:
    """Monitor a log file against its reference.

    Raises:
        InputError: a file is missing or malformed (logs: only when no line at all is usable),
            or an option is out of range.
    """
    if not 0 < options.alpha < 1:
        raise InputError(f"--alpha {options.alpha}: give a level between 0 and 1, e.g. 0.05", code="bad-alpha")
    window_seconds(options.window)
    reference = load_reference(options.reference, options.heldout, options.schema)
    logs = read_logs(options.logs)
    if not logs.records:
        first = logs.malformed[0] if logs.malformed else None
        raise InputError(f"no usable log line ({len(logs.malformed)} malformed); "
                         f"each line must be {{\"messages\": [...]}}{': ' + first.message if first else ''}",
                         path=str(options.logs), line=first.line if first else None, code="no-log-records")
    encoder = SentenceEncoder() if options.embeddings else None
    inputs = InputDriftModel(reference, options.alpha, options.seed, encoder)
    coverage, checker = CoverageModel(reference), ReplyChecker(reference)
    windows = []
    for index, window in enumerate(split_windows(logs.records, options.window)):
        logger.info("window %s: %d records", window.label, len(window.records))
        windows.append(WindowReport(
            window.label, len(window.records),
            health=health_checks(window.records, checker, options.alpha, options.tolerance),
            inputs=inputs.checks(window.records, index), latency=latency(window.records),
            coverage=coverage.coverage(window.records)))
    return MonitorReport(str(options.logs), str(options.reference), reference.heldout_path, options.window, options.alpha,
                         len(logs.records), logs.malformed, windows, options.embeddings)
