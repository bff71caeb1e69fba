"""The gate's decision: the typed record every other part reads (CLI, plugin, registry, reports).

``decision.json`` carries ``schema_version``. Version 1 (files written before the field
existed) has no adapter-config hash and no suite; they still load, with those fields None.
Everything a person reads about a check comes from :func:`render_check`.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Literal

from harness.config.gate import GateRules
from harness.errors import HarnessError
from harness.manifests import EngineInfo, read_candidate_manifest

log = logging.getLogger(__name__)

SCHEMA_VERSION = 2
Verdict = Literal["pass", "fail", "inconclusive"]
Outcome = Literal["accepted", "rejected", "inconclusive"]


@dataclass
class SequentialRecord:
    """How a check of a sequential gate (``gate.sequential``) used the held-out cases, and why it stopped."""

    cases_used: int
    """Held-out cases drawn (in the seeded order) when the check's sequence was last computed."""
    cases_available: int
    """Held-out cases there were."""
    stopped: str
    """Why it stopped: settled above / below the threshold, or unsettled (cases ran out: the fixed-n verdict)."""
    statistic: str | None = None
    """What the anytime-valid confidence sequence is for (a paired mean difference, a discordant share, a mean)."""
    low: float | None = None
    """The sequence's lower bound at the last look (on the statistic's scale)."""
    high: float | None = None
    threshold: float | None = None
    """The margin, floor or 1/2 (discordant share) it was compared with."""


@dataclass
class GateCheck:
    """One line of the decision table."""

    name: str
    """What was checked, e.g. ``beats rag on field_macro_f1``; tests select checks by its prefix."""
    verdict: Verdict
    """``pass`` counts toward an accept; ``fail`` rejects; ``inconclusive`` never accepts."""
    explanation: str
    """One line a person understands: observed value against the threshold."""
    observed: dict[str, Any] = field(default_factory=dict)
    """Point estimates per variant (or error counts for the data check)."""
    threshold: float | None = None
    """The margin, floor, tolerance or minimum case count the check compares against."""
    delta: float | None = None
    """Paired difference candidate - baseline."""
    interval: tuple[float, float] | None = None
    """Confidence interval of ``delta``."""
    p_value: float | None = None
    """Exact McNemar p-value, for pass/fail primary metrics."""
    n: int | None = None
    """Paired cases (or items) behind the check."""
    sequential: SequentialRecord | None = None
    """With ``gate.sequential``: the cases this check used and why it stopped (None otherwise)."""

    def to_dict(self) -> dict[str, Any]:
        """The check as JSON-ready data."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> GateCheck:
        """Read a check written by :meth:`to_dict` (any schema version)."""
        known = {f.name for f in fields(cls)}
        check = cls(**{k: v for k, v in data.items() if k in known})
        if check.interval is not None:
            check.interval = (float(check.interval[0]), float(check.interval[1]))
        if isinstance(check.sequential, dict):
            known_record = {f.name for f in fields(SequentialRecord)}
            check.sequential = SequentialRecord(**{k: v for k, v in check.sequential.items() if k in known_record})
        return check


@dataclass(frozen=True)
class InputHashes:
    """sha256 of everything that changes what the gate judged; promotion re-checks each one.

    Field names are the JSON keys (unchanged since schema 1, which lacked the adapter config).
    """

    candidate_adapter_sha256: str
    """``adapter_model.safetensors``."""
    candidate_manifest_sha256: str
    """``manifest.json`` (base model, training config, data provenance)."""
    cases: str
    """The held-out cases file."""
    cases_sha256: str
    candidate_adapter_config_sha256: str | None = None
    """``adapter_config.json`` (rank, alpha, target modules); None in schema-1 decisions."""
    split_sha256: str | None = None
    """``split.json`` beside the cases, when there is one."""
    config: str | None = None
    """The eval config (``harness.yaml``)."""
    config_sha256: str | None = None
    training_dataset: str | None = None
    """The training data named by the manifest; None in schema-1 decisions."""
    training_dataset_sha256: str | None = None

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> InputHashes:
        """Read the ``inputs`` block of a decision."""
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})

    def files(self, candidate: Path) -> dict[str, tuple[Path | None, str | None]]:
        """Each bound file: label → (path, recorded sha256)."""
        split = Path(self.cases).parent / "split.json"
        return {
            "adapter_model.safetensors": (candidate / "adapter_model.safetensors", self.candidate_adapter_sha256),
            "adapter_config.json": (candidate / "adapter_config.json", self.candidate_adapter_config_sha256),
            "manifest.json": (candidate / "manifest.json", self.candidate_manifest_sha256),
            "eval config": (Path(self.config) if self.config else None, self.config_sha256),
            "cases": (Path(self.cases), self.cases_sha256),
            "split.json": (split if self.split_sha256 else None, self.split_sha256),
            "training data": (Path(self.training_dataset) if self.training_dataset else None, self.training_dataset_sha256),
        }


@dataclass
class VariantSummary:
    """One variant's figures in a decision (:func:`harness.scorers.metrics.variant_metrics`)."""

    metrics: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Per-case metric → ``mean``, ``n``, ``unscored`` and ``wilson95``."""
    fields: dict[str, Any] = field(default_factory=dict)
    """Per labelled field: accuracy, macro-F1, balanced accuracy, majority rate; and ``field_macro_f1``."""
    cost: dict[str, Any] = field(default_factory=dict)
    """Mean prompt and completion tokens, latency p50/p95, errors (:func:`harness.scorers.metrics.cost_summary`)."""

    def to_dict(self) -> dict[str, Any]:
        """The entry as ``decision.json`` holds it."""
        return {"metrics": self.metrics, "fields": self.fields, "cost": self.cost}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> VariantSummary:
        """Read an entry of any schema version (a missing part is empty)."""
        return cls(dict(data.get("metrics") or {}), dict(data.get("fields") or {}), dict(data.get("cost") or {}))


@dataclass(frozen=True)
class SuiteMark:
    """The ``harness_suite(name, version)`` marker of the tests that asked for the decision."""

    name: str
    version: str | None = None


@dataclass
class Decision:
    """The gate's verdict on one candidate, with every check and the hashes of its inputs."""

    verdict: Outcome
    """Accepted only when every check passes; any fail rejects; anything else is inconclusive."""
    checks: list[GateCheck]
    task: str
    candidate: str
    """The candidate folder's name (its registry id)."""
    created_at: str
    """UTC, ISO 8601."""
    inputs: InputHashes | None = None
    """None only when the gate could not hash its inputs (never for an accept)."""
    variants: dict[str, VariantSummary] = field(default_factory=dict)
    """Per variant: per-case metric means, per-field corpus metrics and cost (:func:`harness.scorers.metrics.variant_metrics`)."""
    rules: GateRules | None = None
    """The gate rules in force."""
    run: str | None = None
    """The run folder holding the scored results behind the checks."""
    candidate_path: str | None = None
    """Absolute candidate folder (set where the decision is written beside it)."""
    suite: SuiteMark | None = None
    """The pytest suite that asked for the decision, when one did."""
    engine: EngineInfo | None = None
    """The serving engine the run generated on (openai backend on vLLM), as it described itself."""
    schema_version: int = SCHEMA_VERSION
    kind: str = "harness-decision"

    def check(self, prefix: str) -> GateCheck | None:
        """The first check whose name starts with ``prefix``."""
        return next((c for c in self.checks if c.name.startswith(prefix)), None)

    def to_dict(self) -> dict[str, Any]:
        """The decision as JSON-ready data (``decision.json``)."""
        data = asdict(self)
        data["checks"] = [c.to_dict() for c in self.checks]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Decision:
        """Read a decision of any schema version.

        Raises:
            KeyError, TypeError, ValueError: the data is not a decision.
        """
        suite = data.get("suite")
        return cls(
            verdict=data["verdict"], checks=[GateCheck.from_dict(c) for c in data.get("checks") or []],
            task=data.get("task") or "", candidate=data.get("candidate") or "", created_at=data.get("created_at") or "",
            inputs=InputHashes.from_dict(data["inputs"]) if data.get("inputs") else None,
            variants={name: VariantSummary.from_dict(v) for name, v in (data.get("variants") or {}).items()},
            rules=GateRules.from_dict(data["rules"]) if data.get("rules") else None,
            run=data.get("run"),
            candidate_path=data.get("candidate_path"), suite=SuiteMark(**suite) if suite else None,
            engine=EngineInfo(**data["engine"]) if isinstance(data.get("engine"), dict) else None,
            schema_version=int(data.get("schema_version", 1)), kind=data.get("kind", "harness-decision"),
        )


def check_cells(check: GateCheck) -> tuple[str, str, str, str, str, str]:
    """A check as the cells people read: name, verdict, n, delta [CI], p, explanation."""
    delta = "" if check.delta is None else f"{check.delta:+.3f}"
    if check.interval:
        delta += f" [{check.interval[0]:+.3f}, {check.interval[1]:+.3f}]"
    return (check.name, check.verdict if check.verdict == "pass" else check.verdict.upper(),
            "" if check.n is None else str(check.n), delta, "" if check.p_value is None else f"{check.p_value:.3g}",
            check.explanation)


def render_check(check: GateCheck) -> str:
    """A check as one line: ``name: VERDICT (n 120, delta +0.050, CI [+0.010, +0.090], p 0.02, threshold 0) - why``."""
    name, verdict, n, _, p, explanation = check_cells(check)
    figures = [f"n {n}"] if n else []
    if check.delta is not None:
        figures.append(f"delta {check.delta:+.3f}")
    if check.interval:
        figures.append(f"CI [{check.interval[0]:+.3f}, {check.interval[1]:+.3f}]")
    figures += [f"p {p}"] if p else []
    figures += [f"threshold {check.threshold:g}"] if check.threshold is not None else []
    shown = f" ({', '.join(figures)})" if figures else ""
    return f"{name}: {verdict.upper()}{shown} - {explanation}"


def decision_table(decision: Decision) -> str:
    """The decision as a table a person reads (one row per check, then the verdict)."""
    rows = [("check", "verdict", "n", "delta [CI]", "p", "explanation"), *(check_cells(c) for c in decision.checks)]
    widths = [max(len(row[i]) for row in rows) for i in range(5)]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row[:5], widths, strict=True)) + "  " + row[5]
             for row in rows]
    lines.append(f"verdict: {decision.verdict.upper()} ({decision.candidate}, task {decision.task})")
    folder = Path(decision.candidate_path) if decision.candidate_path else None
    adapter = folder is not None and (folder / "adapter_config.json").exists()
    lines += remedy_lines(decision.checks, decision.candidate, adapter=adapter,
                          replay_used=adapter and folder is not None and trained_with_replay(folder))
    return "\n".join(lines)


REPLAY_LINES = ("replay:", "  prompts: builtin:replay", "  share: 1.0", "  max_new_tokens: 128", "  loss: kl",
                "  kl_weight: 100")
"""The replay section ``harness init`` writes (README, "Replay against forgetting": the setting that passed)."""


def remedy_lines(checks: list[GateCheck], variant: str, *, adapter: bool, replay_used: bool = False) -> list[str]:
    """What to change for each failed check that has a known remedy (empty when none failed).

    A too-small held-out set → ``--eval-split``; a prompt or RAG variant under a floor → few-shot examples, the
    schema in the prompt, or a fine-tune; an adapter failing general capability or forgetting → replay (the
    ``lora.yaml`` lines), or a stronger anchor when it trained with replay; a failing general check beside a
    passing token-loss check → what that usually means.
    """
    short = {c.name.split(" (")[0]: c for c in checks}
    lines = []
    data = short.get("data")
    if data is not None and data.verdict != "pass" and data.threshold is not None and data.n is not None:
        lines.append(f"remedy: only {data.n} held-out cases for min_cases {data.threshold:.0f}: re-split with "
                     "`harness init --data DATA --task TASK --eval-split S --force` (`harness lint DATA --schema S` "
                     "suggests S), or add data; never lower min_cases")
    floors = [c for name, c in short.items() if name.endswith(" floor") and c.verdict == "fail"]
    if floors and not adapter:
        lines.append(f"remedy: {variant} fails {floors[0].explanation}: give it worked examples of the output "
                     f"(`few_shot:` under variants.{variant} in harness.yaml) or the schema in its `system:` "
                     "prompt, or let a fine-tune learn the format (`harness train`)")
    if floors and adapter:
        lines.append(f"remedy: {variant} fails {floors[0].explanation}: the fine-tune has not learnt the format; train "
                     "longer (training.epochs) or on more examples, and read its loss curve (metrics.jsonl in the "
                     "candidate folder)")
    general, token = short.get("general capability"), short.get("forgetting")
    lost = [c for c in (general, token) if c is not None and c.verdict == "fail"]
    if lost and adapter and replay_used:
        lines.append(f"remedy: {variant} fails {' and '.join(c.name for c in lost)} although it trained with replay: "
                     "raise replay.kl_weight (e.g. x4) or halve training.learning_rate in lora.yaml, then train again")
    elif lost and adapter:
        lines.append(f"remedy: {variant} fails {' and '.join(c.name for c in lost)}: train with replay against "
                     "forgetting; add to lora.yaml:")
        lines += [f"    {line}" for line in REPLAY_LINES]
    if general is not None and token is not None and general.verdict == "fail" and token.verdict == "pass":
        lines.append(f"note: general capability fell ({general.delta or 0:+.3f}) while token loss on general text stayed "
                     f"within tolerance ({token.delta or 0:+.3f}): this usually means the task's format leaks into "
                     "general answers (replies shaped like the task's outputs), which token loss on general text "
                     "cannot see")
    return lines


def trained_with_replay(candidate: Path) -> bool:
    """Whether the candidate's manifest records replay in its training data (False when it cannot be read)."""
    try:
        data = read_candidate_manifest(candidate).data
    except HarnessError:
        return False
    return bool(data and data.extra.get("replay"))


def decision_line(decision: Decision, source: str) -> list[str]:
    """The terminal's two lines about one decision."""
    verdicts = ", ".join(f"{c.name}: {c.verdict}" for c in decision.checks)
    where = Path(decision.run) / "decision.json" if decision.run else json.dumps(source)
    return [f"gate {decision.task} ({decision.candidate}): {decision.verdict.upper()} [{verdicts}]", f"  decision: {where}"]
