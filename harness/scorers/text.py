"""Scorers for text outputs: exact match, the per-task answer check, house style, general-capability checks."""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import yaml

from harness.data.normalize import normalize_text
from harness.errors import ConfigError, InputError
from harness.fileio import check_regular_file
from harness.records import Case, Score
from harness.scorers.base import ScorerBase, register
from harness.scorers.item_checks import ITEM_CHECKS


@register("exact_match")
class ExactMatch(ScorerBase):
    """``exact_match``: the normalised output equals the normalised reference."""

    metrics = {"exact_match": True}

    def applies(self, case: Case) -> bool:
        return case.reference is not None

    def score_text(self, case: Case, text: str) -> list[Score]:
        return [Score("exact_match", float(normalize_text(text) == normalize_text(case.reference or "")))]


@register("answer_check")
class AnswerCheck(ScorerBase):
    """``answer_correct``: the output contains any of the case's ``accept`` strings (facts questions)."""

    metrics = {"answer_correct": True}

    def applies(self, case: Case) -> bool:
        return bool(case.metadata.get("accept"))

    def score_text(self, case: Case, text: str) -> list[Score]:
        output = normalize_text(text)
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
class HouseStyle(ScorerBase):
    """House-style checks read from a ``style.yaml`` (rules as data).

    ``style_pass`` (every rule holds), ``style_violations`` (how many rules broke; lower is
    better), and ``style_similarity`` (cosine of character-trigram profiles against the
    reference reply: register and wording, not facts).
    """

    metrics = {"style_pass": True, "style_violations": False, "style_similarity": True}
    KEYS = {"min_words", "max_words", "banned_phrases", "banned_patterns", "required_patterns"}

    def __init__(self, rules: str | Path) -> None:
        data = _read_rules(rules)
        if not isinstance(data, dict) or set(data) - self.KEYS:
            raise ConfigError(f"style rules must be a mapping with keys {sorted(self.KEYS)}", path=str(rules))
        try:
            self.min_words, self.max_words = int(data.get("min_words", 0)), int(data.get("max_words", 10**9))
            self.banned = [p.lower() for p in _strings(data, "banned_phrases")]
            self.banned_patterns = [re.compile(p, re.I | re.M) for p in _strings(data, "banned_patterns")]
            self.required_patterns = [re.compile(p, re.I | re.M) for p in _strings(data, "required_patterns")]
        except (TypeError, ValueError, re.error) as exc:
            raise ConfigError(f"bad style rule ({exc}): min_words/max_words are integers, the others lists of "
                              "phrases or regular expressions", path=str(rules)) from None

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

    def score_text(self, case: Case, text: str) -> list[Score]:
        broken = self.violations(text)
        detail = "; ".join(broken[:3]) or None
        return [Score("style_pass", float(not broken), detail), Score("style_violations", float(len(broken)), detail),
                Score("style_similarity", round(_cosine(_profile(text), _profile(case.reference or "")), 4))]


def _read_rules(rules: str | Path) -> object:
    """The parsed ``style.yaml``.

    Raises:
        ConfigError: not a readable regular file, not UTF-8, or not YAML (with its line).
    """
    path = check_regular_file(rules, "style rules file")  # a pipe or device could block forever
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise ConfigError(f"not UTF-8 text (byte {exc.start}); save it as UTF-8", path=str(path), code="not-utf8") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise ConfigError(f"invalid YAML: {getattr(exc, 'problem', exc)}", path=str(path),
                          line=mark.line + 1 if mark is not None else None) from None


def _strings(data: dict[str, object], key: str) -> list[str]:
    value = data.get(key) or []
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise TypeError(f"{key} must be a list of strings")
    return value


@register("general_checks")
class GeneralChecks(ScorerBase):
    """``general_pass``: every programmatic check of a general-capability item holds."""

    metrics = {"general_pass": True}

    def applies(self, case: Case) -> bool:
        return bool(case.metadata.get("checks"))

    def check_cases(self, cases: Sequence[Case]) -> None:
        """Every check type of every item is known, before any generation.

        Raises:
            InputError: an unknown type, at the item's line (the message lists the known types).
        """
        for case in cases:
            unknown = [c.get("type") for c in case.metadata.get("checks") or [] if c.get("type") not in ITEM_CHECKS]
            if unknown:
                path, _, line = str(case.metadata.get("source", "")).rpartition(":")
                raise InputError(f"unknown check type {unknown[0]!r}; known: {', '.join(ITEM_CHECKS)}", path=path or None,
                                 line=int(line) if line.isdigit() else None, code="bad-item")

    def score_text(self, case: Case, text: str) -> list[Score]:
        failed = [c["type"] for c in case.metadata["checks"] if not ITEM_CHECKS[c["type"]](c, text)]
        return [Score("general_pass", float(not failed), f"failed: {', '.join(failed)}" if failed else None)]
