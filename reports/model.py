"""What the page shows, as typed records the templates read."""

from __future__ import annotations

from dataclasses import dataclass, field

from harness.reports.casediff import CaseChange
from harness.reports.compare import Comparison
from harness.reports.load import RunInfo
from harness.reports.parity import ParityFigures
from harness.reports.plots import Marker

from harness.history.records import DecisionRecord


@dataclass
class TableRow:
    """One variant × metric of the latest run, with its changes."""

    variant: str
    metric: str
    kind: str
    value: float | None
    low: float | None
    high: float | None
    n: int
    since_previous: Comparison | None = None
    since_accepted: float | None = None
    """Change since the run of the decision that accepted the current adapter."""


@dataclass
class Winner:
    """The seed's question for one metric: which intervention wins, and is the win beyond noise."""

    metric: str
    winner: str
    runner_up: str | None
    test: Comparison | None
    pick: str
    """The winner when beyond noise; otherwise the cheaper of the two (prompt → RAG → fine-tune)."""


@dataclass
class Cost:
    """What a variant costs per case (and to train, for an adapter)."""

    variant: str
    kind: str | None
    prompt_tokens: float | None
    completion_tokens: float | None
    latency_p50_s: float | None
    training_s: float | None


@dataclass
class Trend:
    """A trend figure (a panel per metric)."""

    metric: str
    """The metrics it shows, comma-separated."""
    svg: str


@dataclass
class TaskReport:
    """Everything the page says about one task."""

    task: str
    runs: list[RunInfo]
    latest: RunInfo
    latest_link: str
    previous: RunInfo | None
    accepted: DecisionRecord | None
    table: list[TableRow]
    regressions: list[Comparison]
    cases: dict[str, list[CaseChange]]
    case_counts: dict[str, int]
    trends: list[Trend]
    markers: list[Marker]
    winners: list[Winner]
    costs: list[Cost]
    extra_trends: list[Trend] = field(default_factory=list)
    """Plots of figures other sources added to the store (judge, monitor ...)."""


@dataclass
class Report:
    """The whole page."""

    generated_at: str
    store: str
    tasks: list[TaskReport]
    decisions: list[DecisionRecord]
    window: str
    parity: list[ParityFigures] = field(default_factory=list)
    """Serving-parity figures of the decisions that have the check (newest first)."""

    @property
    def regressions(self) -> int:
        """How many regressions the page flags."""
        return sum(len(t.regressions) for t in self.tasks)
