"""Scorers for text outputs: exact match, the per-task answer check, house style, general-capability checks."""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from pathlib import Path
from typing import Any

import yaml

from harness.data.normalize import normalize_text
from harness.errors import ConfigError
from harness.records import Case, Generation, Score
from harness.scorers.base import register, unscored


@register("exact_match")
class ExactMatch:
    """``exact_match``: the normalised output equals the normalised reference."""

    metrics = {"exact_match": True}

    def applies(self, case: Case) -> bool:
        return case.reference is not None

    def score(self, case: Case, generation: Generation) -> list[Score]:
        if generation.text is None:
            return unscored(self.metrics, f"generation failed: {generation.error}")
        return [Score("exact_match", float(normalize_text(generation.text) == normalize_text(case.reference or "")))]


@register("answer_check")
class AnswerCheck:
    """``answer_correct``: the output contains any of the case's ``accept`` strings (facts questions)."""

    metrics = {"answer_correct": True}

    def applies(self, case: Case) -> bool:
        return bool(case.metadata.get("accept"))

    def score(self, case: Case, generation: Generation) -> list[Score]:
        if generation.text is None:
            return unscored(self.metrics, f"generation failed: {generation.error}")
        output = normalize_text(generation.text)
        hit = next((a for a in case.metadata["accept"] if normalize_text(a) in output), None)
        return [Score("answer_correct", float(hit is not None), f"matched {hit!r}" if hit else None)]


def _profile(text: str) -> Counter[str]:
    text = normalize_text(text)
    return Counter(text[i : i + 3] for i in range(max(0, len(text) - 2)))


def _cosine(a: Counter[str], b: Counter[str]) -> float:
    dot = sum(v * b[k] for k, v in a.items())
    norm = math.sqrt(sum(v * v for v in a.values())) * math.sqrt(sum(v * v for v in b.values()))
    return dot / norm if norm else 0.0


@register("style")
class HouseStyle:
    """House-style checks read from a ``style.yaml`` (rules as data).

    ``style_pass`` (every rule holds), ``style_violations`` (how many rules broke; lower is
    better), and ``style_similarity`` (cosine of character-trigram profiles against the
    reference reply: register and wording, not facts).
    """

    metrics = {"style_pass": True, "style_violations": False, "style_similarity": True}
    KEYS = {"min_words", "max_words", "banned_phrases", "banned_patterns", "required_patterns"}

    def __init__(self, rules: str | Path) -> None:
        data = yaml.safe_load(Path(rules).read_text(encoding="utf-8"))
        if not isinstance(data, dict) or set(data) - self.KEYS:
            raise ConfigError(f"style rules must be a mapping with keys {sorted(self.KEYS)}", path=str(rules))
        self.min_words, self.max_words = int(data.get("min_words", 0)), int(data.get("max_words", 10**9))
        self.banned = [p.lower() for p in data.get("banned_phrases") or []]
        self.banned_patterns = [re.compile(p, re.I | re.M) for p in data.get("banned_patterns") or []]
        self.required_patterns = [re.compile(p, re.I | re.M) for p in data.get("required_patterns") or []]

    def applies(self, case: Case) -> bool:
        return case.reference is not None

    def violations(self, text: str) -> list[str]:
        """Every rule the text breaks, in words."""
        words = len(text.split())
        bounds = f"{self.min_words}-{self.max_words}"
        broken = [] if self.min_words <= words <= self.max_words else [f"{words} words (allowed {bounds})"]
        lowered = text.lower()
        broken += [f"banned phrase {p!r}" for p in self.banned if p in lowered]
        broken += [f"banned pattern {p.pattern!r}" for p in self.banned_patterns if p.search(text)]
        broken += [f"missing pattern {p.pattern!r}" for p in self.required_patterns if not p.search(text)]
        return broken

    def score(self, case: Case, generation: Generation) -> list[Score]:
        if generation.text is None:
            return unscored(self.metrics, f"generation failed: {generation.error}")
        broken = self.violations(generation.text)
        detail = "; ".join(broken[:3]) or None
        return [Score("style_pass", float(not broken), detail), Score("style_violations", float(len(broken)), detail),
                Score("style_similarity", round(_cosine(_profile(generation.text), _profile(case.reference or "")), 4))]


_NUMBER = re.compile(r"-?\d[\d,]*(?:\.\d+)?")


def _check(check: dict[str, Any], text: str) -> bool:
    kind, stripped, lowered = check["type"], text.strip(), text.lower()
    values = [str(v).lower() for v in check.get("values", [])]
    if kind == "contains_any":
        return any(v in lowered for v in values)
    if kind == "contains_all":
        return all(v in lowered for v in values)
    if kind == "not_contains":
        return not any(v in lowered for v in values)
    if kind == "number":
        numbers = [float(n.replace(",", "")) for n in _NUMBER.findall(text) if n.replace(",", "").strip("-")]
        return any(abs(n - float(check["value"])) <= 1e-6 for n in numbers)
    if kind == "regex":
        return re.search(check["pattern"], text, re.I) is not None
    if kind in ("max_words", "min_words"):
        words = len(text.split())
        return words <= check["n"] if kind == "max_words" else words >= check["n"]
    if kind in ("lowercase", "uppercase"):
        letters = [c for c in text if c.isalpha()]
        return bool(letters) and all(c.islower() if kind == "lowercase" else c.isupper() for c in letters)
    if kind == "no_commas":
        return "," not in text
    if kind in ("starts_with", "ends_with"):
        value = str(check["value"]).lower()
        return stripped.lower().startswith(value) if kind == "starts_with" else stripped.lower().endswith(value)
    if kind == "json_object":
        try:
            value = json.loads(stripped)
        except json.JSONDecodeError:
            return False
        return isinstance(value, dict) and all(k in value for k in check.get("keys", []))
    if kind == "line_count":
        lines = [line for line in text.splitlines() if line.strip()]
        return check.get("min", 0) <= len(lines) <= check.get("max", 10**9)
    raise ConfigError(f"unknown check type {kind!r}")


CHECK_TYPES = ("contains_any", "contains_all", "not_contains", "number", "regex", "max_words", "min_words", "lowercase",
               "uppercase", "no_commas", "starts_with", "ends_with", "json_object", "line_count")


@register("general_checks")
class GeneralChecks:
    """``general_pass``: every programmatic check of a general-capability item holds."""

    metrics = {"general_pass": True}

    def applies(self, case: Case) -> bool:
        return bool(case.metadata.get("checks"))

    def score(self, case: Case, generation: Generation) -> list[Score]:
        if generation.text is None:
            return unscored(self.metrics, f"generation failed: {generation.error}")
        failed = [c["type"] for c in case.metadata["checks"] if not _check(c, generation.text)]
        return [Score("general_pass", float(not failed), f"failed: {', '.join(failed)}" if failed else None)]
