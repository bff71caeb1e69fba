"""Typed records the history store holds: a run read back from its folder, a decision, a figure."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class MetricRow:
    """One variant × metric of a run."""

    variant: str
    metric: str
    """``schema_valid``, ``field:category``, ``field_macro_f1``, ``latency_p50_s`` ..."""
    kind: str
    """``case`` (mean of per-case scores), ``corpus`` (macro-F1 and the like) or ``cost``."""
    value: float | None
    low: float | None
    """95% interval (Wilson for pass/fail, t for means, bootstrap for corpus metrics); None for costs."""
    high: float | None
    n: int
    """Cases that could be scored."""
    higher_is_better: bool
    binary: bool
    """Every per-case score is 0 or 1 (pass/fail): paired comparisons use exact McNemar."""


@dataclass(frozen=True)
class CaseRow:
    """A case as the store knows it, keyed by its stable content hash."""

    case_id: str
    task: str
    input: str
    """The input messages as JSON."""
    expected: str | None
    source: str | None


@dataclass(frozen=True)
class OutputRow:
    """One generation of one case under one variant (and repeat), with its per-case scores."""

    variant: str
    case_id: str
    sample: int
    output: str | None
    error: str | None
    scores: dict[str, float | None] = field(default_factory=dict)


@dataclass(frozen=True)
class RunRecord:
    """A run folder read back: manifest identity, per-variant metrics, cases and outputs."""

    run_id: str
    task: str
    created_at: str
    path: str
    content_sha256: str
    """Hash of manifest + results: a re-import of the same folder is a no-op, a changed one replaces it."""
    git_sha: str | None
    git_dirty: bool | None
    model_sha256: str | None
    data_sha256: str | None
    config_sha256: str | None
    decoding: str | None
    repeats: int
    variants: dict[str, tuple[str | None, str | None, str | None]]
    """variant → (kind, adapter sha256, spec sha256)."""
    metrics: list[MetricRow]
    cases: list[CaseRow]
    outputs: list[OutputRow]


@dataclass(frozen=True)
class CheckRow:
    """One check of a decision (only the keys every decision version has)."""

    name: str
    verdict: str
    detail: str


@dataclass(frozen=True)
class DecisionRecord:
    """A gate decision read back from ``decision.json`` (with or without ``schema_version``)."""

    path: str
    content_sha256: str
    task: str | None
    candidate: str | None
    verdict: str
    created_at: str
    run_id: str | None
    adapter_sha256: str | None
    training_s: float | None
    """The candidate's training wall time, from its ``manifest.json`` when next to the decision."""
    checks: list[CheckRow]
    schema_version: int | None


@dataclass(frozen=True)
class Figure:
    """One figure from any source: the store's extension point (judge scores, monitor figures ...)."""

    source: str
    """Who measured it, e.g. ``judge`` or ``monitor``."""
    kind: str
    """What sort of figure, e.g. ``agreement`` or ``latency_p95_s``."""
    time: str
    """ISO 8601 UTC time of the measurement."""
    task: str
    name: str
    """The series the report plots, e.g. ``judge:helpfulness/kappa``."""
    value: float | None
    low: float | None = None
    high: float | None = None
    n: int | None = None
    run_id: str | None = None
    detail: str | None = None
