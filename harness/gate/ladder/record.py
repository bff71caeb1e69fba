"""The ladder's decision as a typed record (``ladder.json``): chosen rung, per-rung verdicts, reasons, input hashes."""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Literal

from harness.gate.decision import GateCheck, InputHashes, Verdict
from harness.manifests import EngineInfo

log = logging.getLogger(__name__)

LADDER_SCHEMA_VERSION = 1
LadderVerdict = Literal["deploy", "none", "inconclusive"]
"""``deploy`` names a rung; ``none``: no rung passes its floors and checks; ``inconclusive``: an error or missing data."""


@dataclass
class RungCost:
    """What a rung costs: its kind, per-request tokens and latency, and training time for a fine-tune."""

    kind: str
    prompt_tokens_mean: float | None = None
    completion_tokens_mean: float | None = None
    latency_p50_s: float | None = None
    training_s: float | None = None
    """Wall-clock training time from the candidate's manifest (``stats.wall_seconds``)."""

    @classmethod
    def from_summary(cls, kind: str, cost: dict[str, Any], training_s: float | None = None) -> RungCost:
        """From :func:`harness.scorers.metrics.cost_summary` of the rung's results."""
        return cls(kind, cost.get("prompt_tokens_mean"), cost.get("completion_tokens_mean"), cost.get("latency_p50_s"),
                   training_s)

    def more_than(self, other: RungCost) -> str:
        """What this rung costs beyond ``other``, as words: ``260 s of training, 310 fewer prompt tokens per request``."""
        parts = [f"{self.training_s:.0f} s of training"] if self.training_s is not None else []
        if self.prompt_tokens_mean is not None and other.prompt_tokens_mean is not None:
            extra = self.prompt_tokens_mean - other.prompt_tokens_mean
            parts.append(f"{abs(extra):.0f} {'more' if extra >= 0 else 'fewer'} prompt tokens per request")
        if self.latency_p50_s is not None and other.latency_p50_s is not None:
            parts.append(f"latency p50 {self.latency_p50_s:.2f} s vs {other.latency_p50_s:.2f} s")
        return ", ".join(parts) or f"a {self.kind} rung (costlier than {other.kind})"


@dataclass
class RungVerdict:
    """One rung's verdicts: its own checks (floors, leakage, general, forgetting) and its comparisons."""

    variant: str
    kind: str
    cost: RungCost
    eligible: Verdict
    """Its own checks combined: pass only when every one passes."""
    checks: list[GateCheck]
    beats: dict[str, Verdict]
    """Per cheaper rung: primary win and no field lost, combined."""
    comparisons: list[GateCheck]
    """The ``beats ...`` and ``fields no worse than ...`` checks against each cheaper rung."""
    reference: str | None = None
    """The adapter folder or the RAG corpus."""
    primary: float | None = None
    """The rung's own value of the primary metric (None in decisions written before it was kept)."""

    def all_checks(self) -> list[GateCheck]:
        """Own checks and comparisons."""
        return [*self.checks, *self.comparisons]

    def checks_vs(self, baseline: str) -> list[GateCheck]:
        """The comparisons against ``baseline``."""
        return [c for c in self.comparisons if c.name.startswith(f"beats {baseline} ") or c.name.endswith(f" {baseline}")]

    def check_vs(self, baseline: str) -> GateCheck | None:
        """The primary comparison against ``baseline``."""
        return next((c for c in self.checks_vs(baseline) if c.name.startswith("beats ")), None)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RungVerdict:
        """Read a rung written by ``asdict``."""
        return cls(data["variant"], data["kind"], RungCost(**data["cost"]), data["eligible"],
                   [GateCheck.from_dict(c) for c in data.get("checks") or []], dict(data.get("beats") or {}),
                   [GateCheck.from_dict(c) for c in data.get("comparisons") or []], data.get("reference"),
                   data.get("primary"))


@dataclass(frozen=True)
class LadderInputs:
    """sha256 of what the ladder judged; promotion of its chosen rung re-checks them."""

    config: str | None
    config_sha256: str | None
    cases: str
    cases_sha256: str
    split_sha256: str | None = None
    corpora: dict[str, str] = field(default_factory=dict)
    """RAG variant → its corpus's sha256 (a folder hashes its files' paths and bytes)."""
    adapters: dict[str, InputHashes] = field(default_factory=dict)
    """Adapter variant → the gate's input hashes of its candidate folder."""
    adapter_paths: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LadderInputs:
        """Read the ``inputs`` block of a ladder decision."""
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        values["adapters"] = {k: InputHashes.from_dict(v) for k, v in (data.get("adapters") or {}).items()}
        return cls(**values)


@dataclass
class LadderDecision:
    """Which rung serves a task, and why, in lines a person reads."""

    verdict: LadderVerdict
    task: str
    chosen: str | None
    """The chosen variant's name (None unless ``deploy``)."""
    chosen_kind: str | None
    rungs: list[RungVerdict]
    """Cheapest first."""
    reasons: list[str]
    """``deploy rag: fine-tuned does not beat it on field_macro_f1, delta +0.014 [-0.061, +0.095]; it costs ...``."""
    checks: list[GateCheck]
    """Checks over the whole ladder: data (every rung, same cases, no errors) and judge calibration."""
    created_at: str
    inputs: LadderInputs | None = None
    rules: dict[str, Any] = field(default_factory=dict)
    run: str | None = None
    engine: EngineInfo | None = None
    """The serving engine the run generated on (openai backend on vLLM), as it described itself."""
    schema_version: int = LADDER_SCHEMA_VERSION
    kind: str = "harness-ladder-decision"

    def rung(self, variant: str) -> RungVerdict | None:
        """The verdicts of ``variant``'s rung."""
        return next((r for r in self.rungs if r.variant == variant), None)

    def to_dict(self) -> dict[str, Any]:
        """The decision as JSON-ready data."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LadderDecision:
        """Read a ladder decision.

        Raises:
            KeyError, TypeError, ValueError: the data is not a ladder decision.
        """
        if data.get("kind") != "harness-ladder-decision":
            raise ValueError(f"kind is {data.get('kind')!r}, not harness-ladder-decision")
        return cls(data["verdict"], data["task"], data.get("chosen"), data.get("chosen_kind"),
                   [RungVerdict.from_dict(r) for r in data["rungs"]], list(data.get("reasons") or []),
                   [GateCheck.from_dict(c) for c in data.get("checks") or []], data.get("created_at") or "",
                   LadderInputs.from_dict(data["inputs"]) if data.get("inputs") else None, data.get("rules") or {},
                   data.get("run"), EngineInfo(**data["engine"]) if isinstance(data.get("engine"), dict) else None,
                   int(data.get("schema_version", 1)), data["kind"])
