"""``harness.yaml``: a task's eval config (model, backend, cases, decoding, variants).

    task: triage
    model: smollm2-135m-instruct          # any base_model form (see harness.models)
    backend: {kind: local, batch_size: 8}  # or {kind: openai, base_url, model, api_key_env, concurrency, ...}
    cases: ./data/split/heldout.jsonl      # chat examples or fact questions (harness.cases)
    decoding: {max_new_tokens: 32}
    variants:
      prompt-only: {kind: prompt, system: "...", few_shot: [{user: "...", assistant: "..."}]}
      rag:         {kind: rag, corpus: ./data/split/train.jsonl, corpus_kind: examples, k: 4}
      fine-tuned:  {kind: adapter, adapter: ../../candidates/triage-...}

Relative paths are relative to the config file. Every key is checked; an unknown one is
an error that names the allowed keys and the line.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.configfile import ConfigSource, check_keys, read_yaml
from harness.records import Decoding

VARIANT_KINDS = ("prompt", "rag", "adapter")
CORPUS_KINDS = ("examples", "documents", "passages")
_TOP = ["task", "model", "backend", "cases", "decoding", "variants", "scoring", "gate"]
_SCORING = ["schema", "fields", "style", "exact_match"]
_BACKEND = {"local": ["kind", "batch_size", "device"],
            "openai": ["kind", "base_url", "model", "api_key_env", "concurrency", "timeout_s", "max_retries"]}
_VARIANT = {"prompt": ["kind", "system", "few_shot"],
            "rag": ["kind", "system", "corpus", "corpus_kind", "k", "template"],
            "adapter": ["kind", "adapter", "system"]}


@dataclass(frozen=True)
class VariantSpec:
    """One intervention to evaluate."""

    name: str
    kind: str
    """``prompt`` (system prompt and few-shot turns), ``rag`` (retrieval) or ``adapter`` (LoRA)."""
    system: str | None = None
    """Replaces the case's system message; None keeps it."""
    few_shot: tuple[tuple[str, str], ...] = ()
    """(user, assistant) demonstration turns for ``prompt`` variants."""
    corpus: str | None = None
    corpus_kind: str = "examples"
    k: int = 4
    template: str | None = None
    """For documents/passages corpora: the text put into the system message (``{passages}``)."""
    adapter: str | None = None
    """Adapter folder for ``adapter`` variants."""


@dataclass(frozen=True)
class BackendSpec:
    """Where generations come from."""

    kind: str = "local"
    options: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class EvalConfig:
    """A validated ``harness.yaml``."""

    task: str
    model: str
    cases: str
    variants: dict[str, VariantSpec]
    backend: BackendSpec = BackendSpec()
    decoding: Decoding = Decoding()
    scoring: dict[str, Any] = field(default_factory=dict)
    """Which scorers apply (``schema``, ``fields``, ``style``, ``exact_match``); see harness.scoring."""
    gate: dict[str, Any] = field(default_factory=dict)
    """Gate rules (see harness.gate)."""
    source: str | None = None


def load_eval_config(path: str | Path) -> EvalConfig:
    """Read and validate a ``harness.yaml``.

    Raises:
        ConfigError: ``path:line: bad-config: ...`` naming the key and the allowed values.
    """
    source = read_yaml(path)
    data = check_keys(source, "", source.data, _TOP, ["task", "cases", "variants"])
    base = Path(path).resolve().parent
    model = str(data.get("model", "smollm2-135m-instruct"))
    if (base / model).exists():
        model = str((base / model).resolve())
    variants_data = check_keys(source, "variants", data["variants"], list(data["variants"] or {}), [])
    if not variants_data:
        raise source.error("variants", "variants must name at least one variant")
    return EvalConfig(
        task=_string(source, "task", data["task"]),
        model=model,
        cases=str((base / _string(source, "cases", data["cases"])).resolve()),
        variants={name: _variant(source, name, spec, base) for name, spec in variants_data.items()},
        backend=_backend(source, data.get("backend") or {"kind": "local"}),
        decoding=_decoding(source, data.get("decoding") or {}),
        scoring=dict(check_keys(source, "scoring", data.get("scoring") or {}, _SCORING, [])),
        gate=dict(data.get("gate") or {}),
        source=str(path),
    )


def _string(source: ConfigSource, key: str, value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise source.error(key, f"{key} must be a non-empty string, got {value!r}")
    return value


def _backend(source: ConfigSource, data: Any) -> BackendSpec:
    kind = data.get("kind", "local") if isinstance(data, dict) else None
    if kind not in _BACKEND:
        raise source.error("backend.kind", f"backend.kind must be one of {', '.join(_BACKEND)}, got {kind!r}")
    check_keys(source, "backend", data, _BACKEND[kind], [])
    return BackendSpec(kind, {k: v for k, v in data.items() if k != "kind"})


def _decoding(source: ConfigSource, data: Any) -> Decoding:
    allowed = ["max_new_tokens", "temperature", "top_p", "seed"]
    check_keys(source, "decoding", data, allowed, [])
    try:
        decoding = Decoding(**data)
    except TypeError as exc:
        raise source.error("decoding", f"decoding: {exc}") from exc
    if not isinstance(decoding.max_new_tokens, int) or decoding.max_new_tokens < 1:
        raise source.error("decoding.max_new_tokens", "decoding.max_new_tokens must be a positive integer")
    if not isinstance(decoding.temperature, int | float) or decoding.temperature < 0:
        raise source.error("decoding.temperature", "decoding.temperature must be >= 0 (0 = greedy)")
    return decoding


def _variant(source: ConfigSource, name: str, data: Any, base: Path) -> VariantSpec:
    key = f"variants.{name}"
    kind = data.get("kind") if isinstance(data, dict) else None
    if kind not in _VARIANT:
        raise source.error(f"{key}.kind", f"{key}.kind must be one of {', '.join(VARIANT_KINDS)}, got {kind!r}")
    check_keys(source, key, data, _VARIANT[kind], ["kind"] + (["corpus"] if kind == "rag" else [])
               + (["adapter"] if kind == "adapter" else []))
    few_shot = tuple(_few_shot(source, key, data.get("few_shot") or []))
    corpus_kind = data.get("corpus_kind", "examples")
    if corpus_kind not in CORPUS_KINDS:
        raise source.error(f"{key}.corpus_kind", f"{key}.corpus_kind must be one of {', '.join(CORPUS_KINDS)}")
    k = data.get("k", 4)
    if not isinstance(k, int) or k < 1:
        raise source.error(f"{key}.k", f"{key}.k must be a positive integer, got {k!r}")
    corpus, adapter = (str((base / p).resolve()) if p is not None else None for p in (data.get("corpus"), data.get("adapter")))
    if str(data.get("adapter", "")).startswith("current:"):
        adapter = data["adapter"]  # a registry reference, resolved when the run starts (harness.registry)
    return VariantSpec(name, kind, data.get("system"), few_shot, corpus, corpus_kind, k, data.get("template"), adapter)


def _few_shot(source: ConfigSource, key: str, turns: Any) -> list[tuple[str, str]]:
    if not isinstance(turns, list) or not all(isinstance(t, dict) and set(t) == {"user", "assistant"} for t in turns):
        raise source.error(f"{key}.few_shot", f"{key}.few_shot must be a list of {{user: ..., assistant: ...}}")
    return [(str(t["user"]), str(t["assistant"])) for t in turns]

