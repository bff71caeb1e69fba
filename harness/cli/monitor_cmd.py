"""``harness monitor LOGS --reference DATA``: drift, output health and coverage per time window.

Exit 1 when a window drifts or a health check is beyond its threshold, 0 when none is, 2 for
bad input. Malformed log lines are counted and listed with their line numbers.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from harness.cli.options import add_format_option, print_json, wants_json

if TYPE_CHECKING:  # the monitor package pulls in scikit-learn: imported only when the verb runs
    from harness.monitor.records import Check, MonitorReport, WindowReport


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("monitor", help="watch production logs for drift and output health", description=__doc__)
    parser.add_argument("logs", help="production log: chat JSONL, optional timestamp, variant, latency_ms, correction")
    parser.add_argument("--reference", required=True, help="the training data (chat JSONL)")
    parser.add_argument("--heldout", help="the held-out set: field distributions and coverage compare with it")
    parser.add_argument("--schema", help="JSON Schema of a healthy reply (default: inferred from the reference outputs)")
    parser.add_argument("--window", default="1d", help="window width: 30m, 6h, 1d, 1w or all (default 1d)")
    parser.add_argument("--alpha", type=float, default=0.05, help="false-alarm level per window (default 0.05)")
    parser.add_argument("--embeddings", action="store_true", help="domain classifier on MiniLM sentence embeddings")
    parser.add_argument("--seed", type=int, default=0, help="seed of samples, folds and permutations (default 0)")
    add_format_option(parser)
    parser.add_argument("--task", default="monitor",
                        help="task the figures are recorded under in the run history, for the report (default: monitor)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from harness.monitor.run import MonitorOptions, run_monitor

    report = run_monitor(MonitorOptions(args.logs, args.reference, args.heldout, args.schema, args.window, args.alpha,
                                        embeddings=args.embeddings, seed=args.seed))
    if wants_json(args):
        print_json(report)
    else:
        print(report_text(report))
    _record(report, args.task)
    return 1 if report.drift or report.health_flagged else 0


def report_text(report: MonitorReport) -> str:
    """The report as lines for a terminal."""
    lines = [f"{report.logs}: {report.records} records, {len(report.malformed)} malformed lines, "
             f"{len(report.windows)} windows of {report.window} (alpha {report.alpha:g} per window)"]
    lines += [f"{report.logs}:{m.line}: {m.code}: {m.message}" for m in report.malformed[:20]]
    if len(report.malformed) > 20:
        lines.append(f"... and {len(report.malformed) - 20} more malformed lines")
    for window in report.windows:
        lines += _window_text(window)
    verdict = "DRIFT" if report.drift else "no drift"
    health = "health checks beyond threshold" if report.health_flagged else "output health ok"
    lines.append(f"{verdict}; {health}")
    return "\n".join(lines)


def _window_text(window: WindowReport) -> list[str]:
    flags = [f for f, on in (("DRIFT", window.drift), ("HEALTH", window.health_flagged)) if on]
    lines = [f"\n[{window.label}] {window.n} records {' '.join(flags) or 'ok'}"]
    lines += [f"  {_check_text(c)}" for c in (*window.health, *window.inputs)]
    lat = window.latency
    if lat.n:
        lines.append(f"  latency ms: p50 {lat.p50:.0f}, p95 {lat.p95:.0f}, p99 {lat.p99:.0f} (n {lat.n})")
    if window.coverage is not None:
        cov = window.coverage
        lines.append(f"  coverage: {cov.uncovered} of {cov.n} inputs uncovered "
                     f"(nearest held-out similarity < {cov.threshold:.3f})")
        for cluster in cov.clusters:
            lines.append(f"    {cluster.count} x [{', '.join(cluster.terms)}] e.g. {cluster.examples[0]!r}")
    return lines


def _check_text(check: Check) -> str:
    mark = "!!" if check.flagged else "ok"
    if check.statistic is None:
        return f"-- {check.name}: not tested ({check.note})"
    threshold = f" threshold {check.threshold:.4g}" if check.threshold is not None else ""
    p = f" p {check.p:.3g}" if check.p is not None else ""
    return f"{mark} {check.name}: {check.statistic:.4g}{threshold}{p} (alpha {check.alpha:.3g}, n {check.n}) {check.note}"


def _record(report: MonitorReport, task: str) -> None:
    """Add the figures to the run history; a failure there is only a warning (the monitor's answer stands)."""
    from harness.history import add_figures
    from harness.monitor.figures import figures_of, history_figures

    add_figures(history_figures(figures_of(report), task), quiet=True)
