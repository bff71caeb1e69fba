"""Gate rules: the ``gate`` section of ``harness.yaml`` (checked when the file loads) and the rules it yields.

    gate:
      candidate: fine-tuned            # the adapter variant under judgement
      baselines: [prompt-only, rag]    # it must beat each of them
      primary: field_macro_f1          # a per-case metric or field_macro_f1 (corpus-level)
      margin: 0.0                      # the paired delta's lower bound must exceed this
      confidence: 0.95
      alpha: 0.05                      # McNemar, for pass/fail primaries
      min_cases: 50                    # fewer is inconclusive, never a pass
      floors: {schema_valid: 0.95}     # candidate point estimates that must be reached
      general: {items: builtin:general, tolerance: 0.05, max_new_tokens: 48}  # or a path
      forgetting: {text: builtin:general-text, tolerance: 0.10}  # or a path
      judge_metrics: []                # metrics that count only while the judge's stored calibration passes
      judge: {rubric: judge/rubric.yaml, store: ../../.harness/judge, max_age_days: 30,
              labels: null, tolerance: 0.2}  # labels: people's ratings of a uniform sample of the judged run (PPI)
      n_resamples: 10000
      field_margin: 0.05               # with scoring.fields: no field's paired lower bound below -field_margin
      parity: {floor: 0.9}             # openai backend: share of held-out cases the engine answers as local peft does
      sequential: false                # true: stop generating once every check's confidence sequence is settled
      sequential_chunk: 16             # held-out cases drawn between two looks (first look at min_cases)

:class:`GateRules` is that section with the candidate, baselines and fields resolved against
the config (:func:`gate_rules`): every default lives once, on :class:`GateSection`.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field, fields
from typing import Any, TypeVar

from harness.errors import ConfigError

CORPUS_METRIC = "field_macro_f1"
S = TypeVar("S")


@dataclass(frozen=True)
class GeneralSection:
    """``gate.general``: no regression on general-capability items."""

    items: str | None = field(default=None, metadata={"help": "general-capability items JSONL", "path": True})
    tolerance: float = field(default=0.05, metadata={"help": "largest allowed drop of general_pass", "min": 0, "max": 1})
    max_new_tokens: int = field(default=48, metadata={"help": "generation cap for the items", "min": 1})


@dataclass(frozen=True)
class ForgettingSection:
    """``gate.forgetting``: no rise of the token loss on general text."""

    text: str | None = field(default=None, metadata={"help": "general text JSONL ({text: ...} lines)", "path": True})
    tolerance: float = field(default=0.10, metadata={"help": "largest allowed relative loss increase", "min": 0})


@dataclass(frozen=True)
class JudgeSection:
    """``gate.judge``: the judge whose stored calibration (``harness calibrate --store``) lets judge metrics count."""

    rubric: str | None = field(default=None, metadata={"help": "the judge's rubric YAML", "path": True})
    model: str = field(default="smollm2-135m-instruct",
                       metadata={"help": "judge model: a local model reference, or the endpoint's model name with base_url"})
    base_url: str | None = field(default=None, metadata={"help": "OpenAI-compatible API root; unset: the local backend"})
    store: str | None = field(default=None, metadata={"help": "folder of stored calibrations", "path": True})
    max_age_days: float = field(default=30.0, metadata={"help": "the oldest calibration that still counts", "above": 0})
    labels: str | None = field(default=None, metadata={
        "help": "human labels on a uniform random sample of the gate run's outputs (columns case_id, output_sha256, "
                "human: the filled sheet of `harness judge sample RUN --uniform`), for the prediction-powered judge "
                "comparison", "path": True})
    tolerance: float = field(default=0.2, metadata={
        "help": "largest allowed drop of the candidate's judge score vs a baseline (PPI interval, rubric scale)", "min": 0})


@dataclass(frozen=True)
class ParitySection:
    """``gate.parity``: the candidate served on the engine (openai backend) answers the held-out cases as the local
    peft reference does."""

    floor: float | None = field(default=None, metadata={
        "help": "least share of held-out cases answered identically on the engine and by local peft (unset: no check)",
        "min": 0, "max": 1})
    model: str | None = field(default=None, metadata={
        "help": "the local reference's base model (default: the config's model, without openai:)"})


@dataclass(frozen=True, kw_only=True)
class GateSection:
    """The ``gate`` section as written (validated field by field when the config loads)."""

    candidate: str | None = field(default=None, metadata={"help": "the adapter variant under judgement"})
    baselines: tuple[str, ...] = field(default=(), metadata={"help": "variants the candidate must beat (default: all others)"})
    primary: str = field(default=CORPUS_METRIC, metadata={"help": "a per-case metric of the scorers, or field_macro_f1"})
    margin: float = field(default=0.0, metadata={"help": "the paired delta's lower bound must exceed it", "min": -1, "max": 1})
    confidence: float = field(default=0.95, metadata={"help": "interval coverage", "above": 0, "max": 0.9999})
    alpha: float = field(default=0.05, metadata={"help": "McNemar significance level", "above": 0, "max": 0.5})
    min_cases: int = field(default=50, metadata={"help": "fewer paired cases is inconclusive", "min": 1})
    floors: dict[str, float] = field(default_factory=dict, metadata={"help": "metric: minimum candidate mean"})
    general: GeneralSection = field(default_factory=GeneralSection, metadata={"section": GeneralSection})
    forgetting: ForgettingSection = field(default_factory=ForgettingSection, metadata={"section": ForgettingSection})
    judge_metrics: tuple[str, ...] = field(default=(), metadata={"help": "metrics that need a judge calibration"})
    judge: JudgeSection = field(default_factory=JudgeSection, metadata={"section": JudgeSection})
    parity: ParitySection = field(default_factory=ParitySection, metadata={"section": ParitySection})
    n_resamples: int = field(default=10_000, metadata={"help": "bootstrap resamples", "min": 100})
    fields: tuple[str, ...] = field(default=(), metadata={"help": "fields of field_macro_f1 (default: scoring.fields)"})
    field_margin: float = field(default=0.05, metadata={"help": "each field's paired lower bound must reach -field_margin",
                                                         "min": 0, "max": 1})
    sequential: bool = field(default=False, metadata={
        "help": "draw held-out cases in a seeded random order, in chunks, and stop generating once every check's "
                "anytime-valid confidence sequence is settled (harness.gate.sequential)"})
    sequential_chunk: int = field(default=16, metadata={"help": "held-out cases drawn between two looks", "min": 1})
    sequential_seed: int = field(default=0, metadata={"help": "seed of the sequential gate's draw order"})


@dataclass(frozen=True, kw_only=True)
class GateRules(GateSection):
    """The rules the checks apply: the :class:`GateSection` resolved against the config's variants.

    Every setting of the section is here under its own name (``rules.margin``,
    ``rules.general.items``); only these three are resolved, so they are required.
    """

    candidate: str = field(metadata={"help": "the adapter variant under judgement"})
    baselines: tuple[str, ...] = field(metadata={"help": "variants the candidate must beat"})
    fields: tuple[str, ...] = field(default=(), metadata={"help": "fields of field_macro_f1"})
    """The section's, else ``scoring.fields``; per-field non-inferiority (:mod:`harness.gate.fields`) checks each."""

    @classmethod
    def resolve(cls, section: GateSection, *, candidate: str, baselines: tuple[str, ...],
                fields: tuple[str, ...]) -> GateRules:
        """The section's settings with the resolved candidate, baselines and fields."""
        return cls(**{**_settings(section), "candidate": candidate, "baselines": baselines, "fields": fields})

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> GateRules:
        """Read rules recorded in a decision (lists back to tuples; keys of other versions ignored).

        Decisions written before the rules nested the sections (``general_items``, ``general_tolerance``,
        ``general_max_new_tokens``, ``forgetting_text``, ``forgetting_tolerance``) read the same.
        """
        data = dict(data)
        for section, names in _FLAT.items():
            nested = dict(data.get(section) or {}) if isinstance(data.get(section), dict) else {}
            nested.update({name: data.pop(f"{section}_{name}") for name in names if f"{section}_{name}" in data})
            if nested:
                data[section] = nested
        known = {f.name: f for f in fields(cls)}
        values: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v for k, v in data.items() if k in known}
        for name, spec in known.items():
            if "section" in spec.metadata and isinstance(values.get(name), dict):
                values[name] = _section_from_dict(spec.metadata["section"], values[name])
        return cls(**values)


_FLAT = {"general": ("items", "tolerance", "max_new_tokens"), "forgetting": ("text", "tolerance")}
"""The flat keys of rules recorded before they nested the sections: ``general_items`` → ``general.items``."""


def _settings(section: GateSection) -> dict[str, Any]:
    """The section's values by name, nested sections as they are (not turned into dicts)."""
    return {f.name: getattr(section, f.name) for f in fields(GateSection)}


def _section_from_dict(cls: type[S], data: dict[str, Any]) -> S:
    known = {f.name for f in fields(cls)}  # type: ignore[arg-type]
    return cls(**{k: v for k, v in data.items() if k in known})


Complain = Callable[[str, str], ConfigError]
"""(dotted key, message) → the error to raise, pointing at the key's line where known."""


def gate_rules(section: GateSection, variant_kinds: Mapping[str, str], scoring_fields: tuple[str, ...] = (),
               metrics: Collection[str] | None = None, complain: Complain | None = None) -> GateRules:
    """Resolve a gate section against the config's variants (name → kind) and known metrics.

    Raises:
        ConfigError: an unknown or unusable variant, or a primary/floor metric no scorer emits.
    """
    error = complain or (lambda key, message: ConfigError(message))
    adapters = [n for n, kind in variant_kinds.items() if kind == "adapter"]
    candidate = section.candidate or (adapters[0] if len(adapters) == 1 else None)
    if candidate not in adapters:
        raise error("gate.candidate", f"gate.candidate must name an adapter variant; adapter variants: "
                                      f"{', '.join(adapters) or 'none'}")
    baselines = section.baselines or tuple(n for n in variant_kinds if n != candidate)
    missing = [b for b in baselines if b not in variant_kinds or b == candidate]
    if missing or not baselines:
        raise error("gate.baselines", f"gate.baselines: {missing or 'none'} not usable; variants: {', '.join(variant_kinds)}")
    if metrics is not None:
        known = sorted({*metrics, CORPUS_METRIC})
        for key, name in [("gate.primary", section.primary), *((f"gate.floors.{m}", m) for m in section.floors)]:
            if name not in known:
                raise error(key, f"{key}: no scorer emits metric {name!r}; known: {', '.join(known)}")
    return GateRules.resolve(section, candidate=candidate, baselines=baselines, fields=section.fields or scoring_fields)

