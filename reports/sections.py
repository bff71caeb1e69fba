"""The page's sections, each built from the store's records: table, case diff, trends, the seed's answer."""

from __future__ import annotations

import json
import os
import sqlite3
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import quote

import harness.reports.load as load
from harness.reports.casediff import LABELS, CaseChange, label_cases, verdicts
from harness.reports.compare import Comparison, compare
from harness.reports.load import CaseScores, RunInfo
from harness.reports.model import Cost, TableRow, Trend, Winner
from harness.reports.plots import Marker, Point, date_number, trends_svg

from harness.history.records import Figure, MetricRow
from harness.stats import pass_at_k, pass_hat_k

CASES_SHOWN = 25
TEXT_SHOWN = 2_000
"""Characters of an input, reference or output the case diff shows (the run's results file has the rest):
a 20,000-character unbroken line in a table cell took headless Chromium over a minute to lay out."""
SAME_INPUT_RUNS = 10
"""How many earlier runs with identical inputs are searched for verdict flips (flaky cases)."""
KIND_ORDER = {"prompt": 0, "rag": 1, "adapter": 2}


def link(path: str, out_dir: Path) -> str:
    """A relative link from the page to ``path`` (absolute ``file://`` when no relative one exists)."""
    try:
        return quote(Path(os.path.relpath(path, out_dir.resolve())).as_posix())
    except ValueError:
        return Path(path).as_uri()


def table(rows: list[MetricRow], comparisons: list[Comparison], accepted: list[MetricRow] | None) -> list[TableRow]:
    """The latest run's variants × metrics with the change since the previous and the accepting run."""
    by_key = {(c.variant, c.metric): c for c in comparisons}
    base = {(m.variant, m.metric): m.value for m in accepted or []}
    out = []
    for m in sorted(rows, key=lambda r: (r.variant, r.kind == "cost", r.metric)):
        before = base.get((m.variant, m.metric))
        since = None if before is None or m.value is None else m.value - before
        out.append(TableRow(m.variant, m.metric, m.kind, m.value, m.low, m.high, m.n, by_key.get((m.variant, m.metric)), since))
    return out


def case_diff(conn: sqlite3.Connection, runs: Sequence[RunInfo], latest: CaseScores, previous: CaseScores | None,
              page_link: str) -> tuple[dict[str, list[CaseChange]], dict[str, int]]:
    """Every variant's labelled cases (at most :data:`CASES_SHOWN` per label shown) and the counts."""
    head = runs[-1]
    changes: list[CaseChange] = []
    loaded: dict[str, CaseScores] = {}
    for variant in sorted(latest):
        same = [r.run_id for r in runs[-1 - SAME_INPUT_RUNS:-1] if r.identity(variant) == head.identity(variant)]
        for run_id in (r for r in same if r not in loaded):
            loaded[run_id] = load.case_scores(conn, run_id)
        changes += label_cases(variant, latest, previous, [loaded[run_id] for run_id in same])
    for change in changes:
        change.failing_metrics += repeats_note(latest, change.variant, change.case_id)
    grouped: dict[str, list[CaseChange]] = {label: [c for c in changes if c.label == label] for label in LABELS}
    shown = {label: items[:CASES_SHOWN] for label, items in grouped.items()}
    _fill(conn, head, [c for items in shown.values() for c in items], page_link)
    return shown, {label: len(items) for label, items in grouped.items()}


def repeats_note(scores: CaseScores, variant: str, case_id: str) -> list[str]:
    """With repeats, how many of a case's samples passed and its pass^K / pass@K (empty for one sample)."""
    outcomes = verdicts({variant: {case_id: scores.get(variant, {}).get(case_id, {})}}, variant).get(case_id, [])
    if len(outcomes) < 2:
        return []
    k, passed = len(outcomes), sum(outcomes)
    return [f"passed {passed}/{k} samples: pass^{k} {pass_hat_k(k, passed, k):.0f}, pass@{k} {pass_at_k(k, passed, k):.0f}"]


def _fill(conn: sqlite3.Connection, run: RunInfo, changes: list[CaseChange], page_link: str) -> None:
    details = load.cases(conn, [c.case_id for c in changes])
    by_variant: dict[str, list[CaseChange]] = defaultdict(list)
    for change in changes:
        by_variant[change.variant].append(change)
        text, expected, _ = details.get(change.case_id, ("[]", None, None))
        messages = json.loads(text)
        change.input = shown_text(next((str(m.get("content", "")) for m in reversed(messages) if m.get("role") == "user"), text))
        change.expected, change.run_link = None if expected is None else shown_text(expected), page_link
    for variant, items in by_variant.items():
        got = load.outputs(conn, run.run_id, variant, [c.case_id for c in items])
        for change in items:
            output, error = got.get(change.case_id, (None, None))
            shown = f"error: {error}" if error is not None else output
            change.got = None if shown is None else shown_text(shown)


def shown_text(text: str) -> str:
    """``text`` cut to ``TEXT_SHOWN`` characters, saying how many more there are."""
    return text if len(text) <= TEXT_SHOWN else f"{text[:TEXT_SHOWN]} … ({len(text) - TEXT_SHOWN:,} more characters)"


def trends(runs: Sequence[RunInfo], metrics: dict[str, list[MetricRow]], markers: list[Marker]) -> list[Trend]:
    """The trend figure: a panel per non-cost metric, every variant with its interval band."""
    series: dict[str, dict[str, list[Point]]] = defaultdict(lambda: defaultdict(list))
    for run in runs:
        when = date_number(run.created_at)
        for m in metrics.get(run.run_id, []):
            if m.kind != "cost" and m.value is not None:
                series[m.metric][m.variant].append(Point(when, m.value, m.low, m.high))
    panels = {metric: dict(series[metric]) for metric in sorted(series)}
    return [Trend(", ".join(panels), trends_svg(panels, markers))] if panels else []


def figure_trends(figures: list[Figure]) -> list[Trend]:
    """The figures other sources added: a panel per name, a line per source/kind."""
    series: dict[str, dict[str, list[Point]]] = defaultdict(lambda: defaultdict(list))
    for f in figures:
        if f.value is not None:
            series[f.name][f"{f.source}/{f.kind}"].append(Point(date_number(f.time), f.value, f.low, f.high))
    panels = {name: dict(lines) for name, lines in sorted(series.items())}
    return [Trend(", ".join(panels), trends_svg(panels, []))] if panels else []


def winners(run: RunInfo, rows: list[MetricRow], scores: CaseScores) -> list[Winner]:
    """Per metric, the best variant of the latest run and whether it beats the runner-up beyond noise."""
    by_metric: dict[str, list[MetricRow]] = defaultdict(list)
    for m in rows:
        if m.kind != "cost" and m.value is not None:
            by_metric[m.metric].append(m)
    pairs = {}
    for metric, items in sorted(by_metric.items()):
        items.sort(key=lambda m: (m.value or 0.0) * (1 if m.higher_is_better else -1), reverse=True)
        pairs[metric] = (items[0], items[1] if len(items) > 1 else None)
    old = [_renamed(second, metric) for metric, (_, second) in pairs.items() if second]
    new = [_renamed(first, metric) for metric, (first, second) in pairs.items() if second]
    old_scores = {metric: scores.get(second.variant, {}) for metric, (_, second) in pairs.items() if second}
    new_scores = {metric: scores.get(first.variant, {}) for metric, (first, second) in pairs.items() if second}
    tests = {c.variant: c for c in compare(old, new, old_scores, new_scores)}
    out = []
    for metric, (first, second) in pairs.items():
        test = tests.get(metric)
        pick = first.variant if second is None or (test and test.improvement) else min(
            (first.variant, second.variant), key=lambda v: KIND_ORDER.get(run.kinds.get(v) or "", 9))
        out.append(Winner(metric, first.variant, second.variant if second else None, test, pick))
    return out


def _renamed(row: MetricRow, metric: str) -> MetricRow:
    return MetricRow(metric, row.metric, row.kind, row.value, row.low, row.high, row.n, row.higher_is_better, row.binary)


def costs(run: RunInfo, rows: list[MetricRow], training: dict[str, float]) -> list[Cost]:
    """Tokens and latency per variant, training time where the adapter's candidate was gated."""
    values = {(m.variant, m.metric): m.value for m in rows if m.kind == "cost"}
    return [Cost(v, run.kinds.get(v), values.get((v, "prompt_tokens_mean")), values.get((v, "completion_tokens_mean")),
                 values.get((v, "latency_p50_s")), training.get(run.adapters.get(v) or ""))
            for v in sorted({m.variant for m in rows}, key=lambda v: (KIND_ORDER.get(run.kinds.get(v) or "", 9), v))]
