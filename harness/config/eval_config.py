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
it is checked when the file loads, with ``path:line`` errors. Relative paths are relative
to the config file.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from harness.config.fields import parse_section, parse_value
from harness.config.file import ConfigSource, check_keys, read_yaml, relative_path
from harness.config.gate import GateRules, GateSection, gate_rules
from harness.errors import ConfigError, InputError
from harness.records import Decoding
from harness.scorers.scoring import ScoringSection, scorer_metrics

VARIANT_KINDS = ("prompt", "rag", "adapter")
CORPUS_KINDS = ("examples", "documents", "passages")
_VARIANT_KEYS = {"prompt": ["kind", "system", "few_shot"], "rag": ["kind", "system", "corpus", "corpus_kind", "k", "template"],
                 "adapter": ["kind", "adapter", "system"]}
_REQUIRED = {"prompt": ["kind"], "rag": ["kind", "corpus"], "adapter": ["kind", "adapter"]}


@dataclass(frozen=True)
class VariantSpec:
    """One intervention to evaluate."""

    name: str
    kind: str = field(metadata={"help": "the intervention", "choices": VARIANT_KINDS})
    """``prompt`` (system prompt and few-shot turns), ``rag`` (retrieval) or ``adapter`` (LoRA)."""
    system: str | None = field(default=None, metadata={"help": "replaces the case's system message"})
    """Replaces the case's system message; None keeps it."""
    few_shot: tuple[tuple[str, str], ...] = ()
    """(user, assistant) demonstration turns for ``prompt`` variants."""
    corpus: str | None = field(default=None, metadata={"help": "retrieval corpus", "path": True})
    corpus_kind: str = field(default="examples", metadata={"help": "what the corpus holds", "choices": CORPUS_KINDS})
    k: int = field(default=4, metadata={"help": "retrieved items per case", "min": 1})
    template: str | None = field(default=None, metadata={"help": "system text around the passages ({passages})"})
    """For documents/passages corpora: the text put into the system message (``{passages}``)."""
    adapter: str | None = None
    """Adapter folder for ``adapter`` variants, or ``current:<task>`` (a registry reference)."""


@dataclass(frozen=True)
class LocalOptions:
    """``backend: {kind: local, ...}``."""

    batch_size: int = field(default=8, metadata={"help": "requests per forward pass", "min": 1})
    device: str | None = field(default=None, metadata={"help": "torch device (default: the best available)"})


@dataclass(frozen=True)
class OpenAIOptions:
    """``backend: {kind: openai, ...}``: any OpenAI-compatible server."""

    base_url: str | None = field(default=None, metadata={"help": "the server's /v1 URL"})
    model: str | None = field(default=None, metadata={"help": "the served model's name"})
    api_key_env: str | None = field(default=None, metadata={"help": "environment variable holding the key"})
    concurrency: int = field(default=4, metadata={"help": "requests in flight", "min": 1})
    timeout_s: float = field(default=60.0, metadata={"help": "per-request timeout", "above": 0})
    max_retries: int = field(default=2, metadata={"help": "retries per request", "min": 0})


_BACKENDS: dict[str, type] = {"local": LocalOptions, "openai": OpenAIOptions}


@dataclass(frozen=True)
class BackendSpec:
    """Where generations come from."""

    kind: str = "local"
    options: dict[str, Any] = field(default_factory=dict)
    """The keys given in the file (checked against :class:`LocalOptions` / :class:`OpenAIOptions`)."""
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
    scoring = parse_section(source, "scoring", data.get("scoring"), ScoringSection)
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
    options = {k: v for k, v in data.items() if k != "kind"}
    parse_section(source, "backend", options, _BACKENDS[kind])
    return BackendSpec(kind, options, line=source.lines.get("backend"))


def backend_error(config: EvalConfig, exc: ConfigError) -> ConfigError:
    """A backend constructor's refusal (no location of its own) placed at the config's ``backend`` line."""
    if exc.path is not None:
        return exc
    return ConfigError(exc.message, path=config.source, line=config.backend.line, code=exc.code)


def _variant(source: ConfigSource, name: str, data: Any) -> VariantSpec:
    key = f"variants.{name}"
    kind = data.get("kind") if isinstance(data, dict) else None
    if kind not in _VARIANT_KEYS:
        raise source.error(f"{key}.kind", f"{key}.kind must be one of {', '.join(VARIANT_KINDS)}, got {kind!r}")
    check_keys(source, key, data, _VARIANT_KEYS[kind], _REQUIRED[kind])
    specs = {f.name: f for f in fields(VariantSpec)}
    values = {k: parse_value(source, f"{key}.{k}", v, specs[k]) for k, v in data.items() if k not in ("few_shot", "adapter")}
    adapter = data.get("adapter")
    if adapter is not None:
        adapter = _string(source, f"{key}.adapter", adapter)
        adapter = adapter if adapter.startswith("current:") else relative_path(source.path, adapter)  # registry ref
    return VariantSpec(name=name, few_shot=_few_shot(source, key, data.get("few_shot") or []), adapter=adapter, **values)


def _few_shot(source: ConfigSource, key: str, turns: Any) -> tuple[tuple[str, str], ...]:
    if not isinstance(turns, list) or not all(isinstance(t, dict) and set(t) == {"user", "assistant"} for t in turns):
        raise source.error(f"{key}.few_shot", f"{key}.few_shot must be a list of {{user: ..., assistant: ...}}")
    return tuple((str(t["user"]), str(t["assistant"])) for t in turns)


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
    return replace(config, variants={name: replace(spec, adapter=str(Path(folders[name]).resolve())) if name in folders
                                     else spec for name, spec in config.variants.items()})
