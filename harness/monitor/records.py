"""Typed records of the monitor: one check, one window, the whole report, and the figures kept over time."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class LogRecord:
    """One well-formed production log line."""

    line: int
    """The 1-based line in the log file."""
    messages: tuple[dict[str, Any], ...]
    """The request messages (system and user turns; earlier assistant turns of a multi-turn chat)."""
    reply: str | None
    """The model's reply: the final assistant message, None when the line has none."""
    input_text: str
    """The normalised user-visible text of the request (no system prompt)."""
    timestamp: float | None = None
    """Seconds since the epoch (UTC), when the line has one."""
    variant: str | None = None
    """The variant or adapter that answered."""
    latency_ms: float | None = None
    """The reply's latency in milliseconds."""
    correction: str | None = None
    """A reply a person wrote instead of the model's one."""
    judge_score: float | None = None
    """A judge's score in [0, 1], when a judge ran."""


@dataclass(frozen=True)
class MalformedLine:
    """A log line that could not be used; counted and reported, never fatal."""

    line: int
    """The 1-based line in the log file."""
    code: str
    """A short identifier: invalid-json, not-object, messages-missing, bad-field."""
    message: str
    """What is wrong with it."""


@dataclass(frozen=True)
class Check:
    """One statistical check of one window: its statistic against its threshold."""

    name: str
    """The check, e.g. ``domain_classifier`` or ``field:category``."""
    test: str
    """The named test that decides it."""
    statistic: float | None
    """The test statistic (an AUC, chi-square, rate, U); None when the check could not run."""
    threshold: float | None
    """The statistic's decision threshold, where the test has one (e.g. the null's percentile)."""
    p: float | None
    """The p-value, where the test gives one."""
    alpha: float
    """The level the check is decided at."""
    n: int
    """Window items the check used."""
    n_reference: int = 0
    """Reference items the check used."""
    flagged: bool = False
    """True when the window is beyond the threshold (p <= alpha)."""
    note: str = ""
    """Why the check could not run, or what else to know."""


@dataclass(frozen=True)
class Cluster:
    """A group of window inputs far from everything in the held-out set."""

    count: int
    """Inputs in the cluster."""
    terms: tuple[str, ...]
    """The words that characterise it (highest mean TF-IDF)."""
    examples: tuple[str, ...]
    """A few of its inputs, the most central first."""
    lines: tuple[int, ...]
    """The log lines of all its inputs."""


@dataclass(frozen=True)
class Coverage:
    """The window's inputs the held-out set does not cover."""

    threshold: float
    """Nearest-held-out cosine similarity below which an input counts as uncovered."""
    uncovered: int
    """Inputs below the threshold."""
    n: int
    """Inputs in the window."""
    clusters: tuple[Cluster, ...] = ()
    """The uncovered inputs grouped, largest first."""


@dataclass(frozen=True)
class Latency:
    """Latency percentiles of a window's replies in milliseconds (None without latencies)."""

    n: int
    """Records with a latency."""
    p50: float | None = None
    """Median."""
    p95: float | None = None
    p99: float | None = None


@dataclass
class WindowReport:
    """Everything the monitor found in one time window."""

    label: str
    """The window's start (a date for whole-day windows), ``all`` or ``undated``."""
    n: int
    """Log records in the window."""
    health: list[Check] = field(default_factory=list)
    """Output health: schema failures and each output field's distribution."""
    inputs: list[Check] = field(default_factory=list)
    """Input drift: the domain classifier and the text descriptors."""
    latency: Latency = field(default_factory=lambda: Latency(0))
    """Latency percentiles of the window's replies."""
    coverage: Coverage | None = None
    """The window's inputs the held-out set does not cover."""

    @property
    def drift(self) -> bool:
        """True when an input-drift check is beyond its threshold."""
        return any(check.flagged for check in self.inputs)

    @property
    def health_flagged(self) -> bool:
        """True when an output-health check is beyond its threshold."""
        return any(check.flagged for check in self.health)


@dataclass
class MonitorReport:
    """The monitor's report over a log file."""

    logs: str
    """The log file."""
    reference: str
    """The training data."""
    heldout: str | None
    """The held-out set, when given."""
    window: str
    """The window spec, e.g. ``1d``."""
    alpha: float
    """The false-alarm level of each window's drift flag (and, separately, of its health flag)."""
    records: int
    """Well-formed log lines."""
    malformed: list[MalformedLine]
    """Lines that could not be used, in file order."""
    windows: list[WindowReport]
    """The windows, oldest first."""
    embeddings: bool = False
    """True when the domain classifier ran on sentence embeddings."""

    @property
    def drift(self) -> bool:
        return any(w.drift for w in self.windows)

    @property
    def health_flagged(self) -> bool:
        return any(w.health_flagged for w in self.windows)

    def to_dict(self) -> dict[str, Any]:
        """The JSON object of ``harness monitor --format json``."""
        windows = [{**asdict(w), "drift": w.drift, "health_flagged": w.health_flagged} for w in self.windows]
        return {
            "schema_version": 1, "logs": self.logs, "reference": self.reference, "heldout": self.heldout,
            "window": self.window, "alpha": self.alpha, "embeddings": self.embeddings, "drift": self.drift,
            "health": {
                "flagged": self.health_flagged,
                "windows_flagged": [w.label for w in self.windows if w.health_flagged],
                "schema_failure_rate": _overall_rate(self.windows),
            },
            "drift_windows": [w.label for w in self.windows if w.drift],
            "lines": {"records": self.records, "malformed": len(self.malformed),
                      "malformed_lines": [asdict(m) for m in self.malformed[:100]]},
            "windows": windows,
        }


def _overall_rate(windows: list[WindowReport]) -> float | None:
    checks = [c for w in windows for c in w.health if c.name == "schema_failures" and c.statistic is not None]
    total = sum(c.n for c in checks)
    return sum(c.statistic * c.n for c in checks if c.statistic is not None) / total if total else None
