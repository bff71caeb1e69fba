"""Gate rules from the ``gate`` section of ``harness.yaml``, with the seed's defaults.

    gate:
      candidate: fine-tuned            # the adapter variant under judgement
      baselines: [prompt-only, rag]    # it must beat each of them
      primary: field_macro_f1          # a per-case metric or field_macro_f1 (corpus-level)
      margin: 0.0                      # the paired delta's lower bound must exceed this
      confidence: 0.95
      alpha: 0.05                      # McNemar, for pass/fail primaries
      min_cases: 50                    # fewer is inconclusive, never a pass
      floors: {schema_valid: 0.95}     # candidate point estimates that must be reached
      general: {items: ../general/items.jsonl, tolerance: 0.05, max_new_tokens: 48}
      forgetting: {text: ../general/text.jsonl, tolerance: 0.10}
      judge_metrics: []                # count only with a passing judge calibration (none exists yet)
      n_resamples: 10000
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.errors import ConfigError

_KEYS = {"candidate", "baselines", "primary", "margin", "confidence", "alpha", "min_cases", "floors", "general",
         "forgetting", "judge_metrics", "n_resamples", "fields"}


@dataclass(frozen=True)
class GateRules:
    """Validated gate rules."""

    candidate: str
    baselines: tuple[str, ...]
    primary: str = "field_macro_f1"
    margin: float = 0.0
    confidence: float = 0.95
    alpha: float = 0.05
    min_cases: int = 50
    floors: dict[str, float] = field(default_factory=dict)
    general_items: str | None = None
    general_tolerance: float = 0.05
    general_max_new_tokens: int = 48
    forgetting_text: str | None = None
    forgetting_tolerance: float = 0.10
    judge_metrics: tuple[str, ...] = ()
    n_resamples: int = 10_000
    fields: tuple[str, ...] = ()


def gate_rules(section: dict[str, Any], variants: dict[str, Any], scoring: dict[str, Any], base: Path,
               source: str | None = None) -> GateRules:
    """Validate a ``gate`` section against the config's variants.

    Raises:
        ConfigError: unknown keys, unknown variants, or a candidate that is not an adapter variant.
    """
    unknown = set(section) - _KEYS
    if unknown:
        raise ConfigError(f"unknown key gate.{sorted(unknown)[0]}; allowed: {', '.join(sorted(_KEYS))}", path=source)
    adapters = [n for n, v in variants.items() if v.kind == "adapter"]
    candidate = section.get("candidate") or (adapters[0] if len(adapters) == 1 else None)
    if candidate not in adapters:
        raise ConfigError(f"gate.candidate must name an adapter variant; adapter variants: {', '.join(adapters) or 'none'}",
                          path=source)
    baselines = tuple(section.get("baselines") or [n for n in variants if n != candidate])
    missing = [b for b in baselines if b not in variants or b == candidate]
    if missing or not baselines:
        raise ConfigError(f"gate.baselines: {missing or 'none'} not usable; variants: {', '.join(variants)}", path=source)
    general, forgetting = section.get("general") or {}, section.get("forgetting") or {}
    return GateRules(
        candidate=candidate, baselines=baselines, primary=str(section.get("primary", "field_macro_f1")),
        margin=float(section.get("margin", 0.0)), confidence=float(section.get("confidence", 0.95)),
        alpha=float(section.get("alpha", 0.05)), min_cases=int(section.get("min_cases", 50)),
        floors={str(k): float(v) for k, v in (section.get("floors") or {}).items()},
        general_items=str((base / general["items"]).resolve()) if general.get("items") else None,
        general_tolerance=float(general.get("tolerance", 0.05)),
        general_max_new_tokens=int(general.get("max_new_tokens", 48)),
        forgetting_text=str((base / forgetting["text"]).resolve()) if forgetting.get("text") else None,
        forgetting_tolerance=float(forgetting.get("tolerance", 0.10)),
        judge_metrics=tuple(section.get("judge_metrics") or ()), n_resamples=int(section.get("n_resamples", 10_000)),
        fields=tuple(section.get("fields") or scoring.get("fields") or ()),
    )
