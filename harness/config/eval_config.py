"""``harness.yaml``: a task's eval config (model, backend, cases, decoding, variants, scoring, gate).

    task: triage
    model: smollm2-135m-instruct          # any base_model form (see harness.models)
    backend: {kind: local, batch_size: 8}  # or {kind: openai, base_url, model, api_key_env, concurrency, ...}
    cases: ./data/split/heldout.jsonl      # chat examples or fact questions (harness.eval.cases)
    decoding: {max_new_tokens: 32}
    variants:
      prompt-only: {kind: prompt, system: "...", few_shot: [{user: "...", assistant: "..."}]}
      rag:         {kind: rag, corpus: ./data/split/train.jsonl, corpus_kind: examples, k: 4}
      fine-tuned:  {kind: adapter, adapter: ../../candidates/triage-...}
    scoring: {schema: ./schema.json, fields: [category]}   # scorer name → its option
    gate: {...}                                             # harness.config.gate

Every section is a dataclass whose fields carry their rules (harness.config.fields); all of
it is checked when the file loads, with ``path:line`` errors. A variant is checked against the
dataclass of its kind (:data:`VARIANTS`), the backend's options against that of its kind
(:data:`_BACKENDS`); the backend is built from those typed options, their defaults included.
Relative paths are relative to the config file.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from harness.config.fields import parse_section
from harness.config.file import ConfigSource, check_keys, read_yaml, relative_path
from harness.config.gate import GateRules, GateSection, gate_rules
from harness.errors import ConfigError, InputError
from harness.records import Decoding
from harness.scorers.scoring import ScoringSection, scorer_metrics

VARIANT_KINDS = ("prompt", "rag", "adapter")
CORPUS_KINDS = ("examples", "documents", "passages")
REGISTRY_PREFIX = "current:"
"""An adapter variant's ``adapter: current:<task>``: the task's current deployment in the registry."""


def _few_shot(source: ConfigSource, key: str, turns: Any) -> tuple[tuple[str, str], ...]:
    turns = turns if turns is not None else []
    if not isinstance(turns, list) or not all(isinstance(t, dict) and set(t) == {"user", "assistant"} for t in turns):
        raise source.error(key, f"{key} must be a list of {{user: ..., assistant: ...}}")
    return tuple((str(t["user"]), str(t["assistant"])) for t in turns)


def _adapter_reference(source: ConfigSource, key: str, value: Any) -> str:
    """An adapter folder (resolved against the config), or a registry reference ``current:<task>`` as written."""
    folder = _string(source, key, value)
    return folder if folder.startswith(REGISTRY_PREFIX) else relative_path(source.path, folder)


@dataclass(frozen=True, kw_only=True)
class VariantSpec:
    """One intervention to evaluate: what every kind has (a variant is one of :data:`VARIANTS`' dataclasses).

    The settings of the other kinds read as absent (``adapter`` is None on a prompt variant), so
    code that walks every variant can ask any of them.
    """

    name: str = field(metadata={"help": "the variant's key under variants", "internal": True})
    kind: str = field(metadata={"help": "the intervention", "choices": VARIANT_KINDS})
    """``prompt`` (system prompt and few-shot turns), ``rag`` (retrieval) or ``adapter`` (LoRA)."""
    system: str | None = field(default=None, metadata={"help": "replaces the case's system message"})
    """Replaces the case's system message; None keeps it."""

    @property
    def few_shot(self) -> tuple[tuple[str, str], ...]:
        """(user, assistant) demonstration turns: only :class:`PromptVariant` has them."""
        return ()

    @property
    def corpus(self) -> str | None:
        """The retrieval corpus: only :class:`RagVariant` has one."""
        return None

    @property
    def corpus_kind(self) -> str | None:
        """What the corpus holds: only :class:`RagVariant` has one."""
        return None

    @property
    def k(self) -> int:
        """Retrieved items per case: only :class:`RagVariant` retrieves any."""
        return 0

    @property
    def template(self) -> str | None:
        """System text around retrieved passages: only :class:`RagVariant` has one."""
        return None

    @property
    def adapter(self) -> str | None:
        """The adapter folder or registry reference: only :class:`AdapterVariant` has one."""
        return None

    def identity(self) -> dict[str, object]:
        """What the run manifest hashes as the variant's ``spec_sha256``: every setting of every kind, with the
        defaults a kind does not have (the shape of the single spec class of earlier versions, so the same
        ``harness.yaml`` keeps the same hashes and the report draws no false "config changed" marker)."""
        return {"name": self.name, "kind": self.kind, "system": self.system, "few_shot": [list(t) for t in self.few_shot],
                "corpus": self.corpus, "corpus_kind": self.corpus_kind or "examples", "k": self.k or 4,
                "template": self.template, "adapter": self.adapter}


@dataclass(frozen=True, kw_only=True)
class PromptVariant(VariantSpec):
    """``{kind: prompt, system, few_shot}``: a system prompt and demonstration turns."""

    kind: str = field(default="prompt", metadata={"help": "the intervention", "choices": VARIANT_KINDS})
    few_shot: tuple[tuple[str, str], ...] = field(
        default=(), metadata={"help": "demonstration turns", "parse": _few_shot})
    """(user, assistant) demonstration turns, put between the system message and the case."""


@dataclass(frozen=True, kw_only=True)
class RagVariant(VariantSpec):
    """``{kind: rag, corpus, corpus_kind, k, template, system}``: retrieval from a corpus."""

    kind: str = field(default="rag", metadata={"help": "the intervention", "choices": VARIANT_KINDS})
    corpus: str | None = field(default=None, metadata={"help": "retrieval corpus", "path": True, "required": True})
    corpus_kind: str = field(default="examples", metadata={"help": "what the corpus holds", "choices": CORPUS_KINDS})
    k: int = field(default=4, metadata={"help": "retrieved items per case", "min": 1})
    template: str | None = field(default=None, metadata={"help": "system text around the passages ({passages})"})
    """For documents/passages corpora: the text put into the system message (``{passages}``)."""


@dataclass(frozen=True, kw_only=True)
class AdapterVariant(VariantSpec):
    """``{kind: adapter, adapter, system}``: the base model with a LoRA adapter."""

    kind: str = field(default="adapter", metadata={"help": "the intervention", "choices": VARIANT_KINDS})
    adapter: str | None = field(default=None, metadata={"help": "adapter folder, or current:<task> (the registry)",
                                                        "parse": _adapter_reference, "required": True})
    """Adapter folder (absolute once loaded), or ``current:<task>`` (a registry reference)."""


VARIANTS: dict[str, type[VariantSpec]] = {"prompt": PromptVariant, "rag": RagVariant, "adapter": AdapterVariant}
"""Variant kind → the dataclass its settings are checked against (as :data:`_BACKENDS` for backends)."""


@dataclass(frozen=True)
class LocalOptions:
    """``backend: {kind: local, ...}``."""

    batch_size: int = field(default=8, metadata={"help": "requests per forward pass", "min": 1})
    device: str | None = field(default=None, metadata={"help": "torch device (default: the best available)"})
    dtype: str = field(default="auto", metadata={
        "help": "weights and compute dtype (auto: float32 on a CPU, bfloat16 on CUDA); part of the cache key",
        "choices": ["auto", "float32", "bfloat16", "float16"]})


@dataclass(frozen=True)
class OpenAIOptions:
    """``backend: {kind: openai, ...}``: any OpenAI-compatible server."""

    base_url: str | None = field(default=None, metadata={"help": "the server's /v1 URL"})
    model: str | None = field(default=None, metadata={"help": "the served model's name (default: the config's model)"})
    api_key_env: str = field(default="OPENAI_API_KEY", metadata={"help": "environment variable holding the key"})
    concurrency: int = field(default=8, metadata={"help": "requests in flight", "min": 1})
    timeout_s: float = field(default=60.0, metadata={"help": "per-attempt timeout in seconds", "above": 0})
    max_retries: int = field(default=5, metadata={"help": "retries per request after the first attempt", "min": 0})


BackendOptions = LocalOptions | OpenAIOptions
_BACKENDS: dict[str, type[LocalOptions] | type[OpenAIOptions]] = {"local": LocalOptions, "openai": OpenAIOptions}


@dataclass(frozen=True)
class BackendSpec:
    """Where generations come from."""

    kind: str = "local"
    options: BackendOptions = field(default_factory=LocalOptions)
    """The kind's options as checked (:class:`LocalOptions` / :class:`OpenAIOptions`), defaults filled in."""
    line: int | None = field(default=None, compare=False)
    """The ``backend`` key's line in the config (where a backend's own refusal is reported)."""


@dataclass(frozen=True)
class EvalConfig:
    """A validated ``harness.yaml``."""

    task: str
    model: str
    cases: str
    variants: dict[str, VariantSpec]
    backend: BackendSpec = BackendSpec()
    decoding: Decoding = Decoding()
    scoring: ScoringSection = ScoringSection()
    """Which scorers apply, each with its option (harness.scorers.scoring)."""
    gate: GateSection = GateSection()
    """Gate rules as written (harness.config.gate)."""
    rules: GateRules | None = None
    """The gate rules resolved against the variants; None when the variants allow no gate."""
    source: str | None = None


def load_eval_config(path: str | Path) -> EvalConfig:
    """Read and validate a ``harness.yaml``: every section, every value, cross-references.

    Raises:
        ConfigError: ``path:line: bad-config: ...`` naming the key and the allowed values.
    """
    source = read_yaml(path)
    top = [f.name for f in fields(EvalConfig) if f.name not in ("rules", "source")]
    data = check_keys(source, "", source.data, top, ["task", "cases", "variants"])
    model = _string(source, "model", data.get("model", "smollm2-135m-instruct"))
    if (Path(path).resolve().parent / model).exists():
        model = relative_path(path, model)
    variants_data = check_keys(source, "variants", data["variants"], list(data["variants"] or {}), [])
    if not variants_data:
        raise source.error("variants", "variants must name at least one variant")
    variants = {str(name): _variant(source, str(name), spec) for name, spec in variants_data.items()}
    scoring = _tone_defaults(parse_section(source, "scoring", data.get("scoring"), ScoringSection), model)
    gate = parse_section(source, "gate", data.get("gate"), GateSection)
    return EvalConfig(
        task=_string(source, "task", data["task"]), model=model,
        cases=relative_path(path, _string(source, "cases", data["cases"])), variants=variants,
        backend=_backend(source, data.get("backend") or {"kind": "local"}),
        decoding=parse_section(source, "decoding", data.get("decoding"), Decoding), scoring=scoring, gate=gate,
        rules=_rules(source, gate, variants, scoring, given="gate" in data), source=str(path),
    )


def _rules(source: ConfigSource, gate: GateSection, variants: dict[str, VariantSpec], scoring: ScoringSection,
           given: bool) -> GateRules | None:
    """The gate's rules; a ``gate`` section that cannot work is an error now, not when the gate runs."""
    try:
        return gate_rules(gate, {n: v.kind for n, v in variants.items()}, scoring.fields, scorer_metrics(scoring),
                          complain=source.error)
    except ConfigError:
        if given:
            raise
        return None


def _tone_defaults(scoring: ScoringSection, model: str) -> ScoringSection:
    """``scoring.tone`` with its defaults from the rest of the file: fluency on the config's model, rules of ``style``."""
    tone = scoring.tone
    if tone is None:
        return scoring
    return replace(scoring, tone=replace(tone, fluency_model=tone.fluency_model or model,
                                         rules=tone.rules if tone.rules is not None else scoring.style))


def _string(source: ConfigSource, key: str, value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise source.error(key, f"{key} must be a non-empty string, got {value!r}")
    return value


def _backend(source: ConfigSource, data: Any) -> BackendSpec:
    if not isinstance(data, dict):
        raise source.error("backend", f"backend must be a mapping such as {{kind: local}}, got {data!r}")
    kind = data.get("kind", "local")
    if kind not in _BACKENDS:
        raise source.error("backend.kind", f"backend.kind must be one of {', '.join(_BACKENDS)}, got {kind!r}")
    options = parse_section(source, "backend", {k: v for k, v in data.items() if k != "kind"}, _BACKENDS[kind])
    return BackendSpec(kind, options, line=source.lines.get("backend"))


def backend_error(config: EvalConfig, exc: ConfigError) -> ConfigError:
    """A backend constructor's refusal (no location of its own) placed at the config's ``backend`` line."""
    if exc.path is not None:
        return exc
    return ConfigError(exc.message, path=config.source, line=config.backend.line, code=exc.code)


def _variant(source: ConfigSource, name: str, data: Any) -> VariantSpec:
    key = f"variants.{name}"
    kind = data.get("kind") if isinstance(data, dict) else None
    if kind not in VARIANTS:
        raise source.error(f"{key}.kind", f"{key}.kind must be one of {', '.join(VARIANT_KINDS)}, got {kind!r}")
    return parse_section(source, key, data, VARIANTS[kind], name=name)


def with_adapters(config: EvalConfig, folders: dict[str, str | Path]) -> EvalConfig:
    """The config with adapter variants pointed at other folders (``--adapter``, ``--candidate``, the gate's candidate).

    Raises:
        InputError: a name is not an adapter variant (the message lists the adapter variants).
    """
    adapters = [n for n, v in config.variants.items() if v.kind == "adapter"]
    unknown = [name for name in folders if name not in adapters]
    if unknown:
        raise InputError(f"{unknown[0]!r} is not an adapter variant; adapter variants: {', '.join(adapters) or 'none'}",
                         path=config.source, code="bad-option")
    return replace(config, variants={name: replace(spec, adapter=str(Path(folders[name]).resolve()))
                                     if name in folders and isinstance(spec, AdapterVariant) else spec
                                     for name, spec in config.variants.items()})
