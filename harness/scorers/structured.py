"""Scorers for JSON outputs: schema validity (strict and lenient, never mixed) and field accuracy."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from harness.data.schema import OutputSchema
from harness.records import Case, Score
from harness.scorers.base import ScorerBase, register

_FENCE = re.compile(r"^```(?:json)?\s*(.*?)\s*```$", re.S)


def parse_strict(text: str) -> Any | None:
    """The output as one JSON value, or None when it is anything else."""
    try:
        return json.loads(text)
    except (json.JSONDecodeError, TypeError):
        return None


def parse_lenient(text: str) -> Any | None:
    """Strip code fences, else take the first ``{...}`` object in the text."""
    fenced = _FENCE.match(text.strip())
    candidate = fenced.group(1) if fenced else text
    value = parse_strict(candidate)
    if value is not None:
        return value
    start = candidate.find("{")
    if start < 0:
        return None
    try:
        value, _ = json.JSONDecoder().raw_decode(candidate[start:])
        return value
    except json.JSONDecodeError:
        return None


@register("schema")
class SchemaScorer(ScorerBase):
    """``schema_valid`` (exactly one JSON value that validates) and ``schema_valid_lenient``."""

    metrics = {"schema_valid": True, "schema_valid_lenient": True}

    def __init__(self, schema: str | Path) -> None:
        self.schema = OutputSchema.from_file(schema)

    def applies(self, case: Case) -> bool:
        return True

    def score_text(self, case: Case, text: str) -> list[Score]:
        strict, lenient = parse_strict(text), parse_lenient(text)
        return [Score("schema_valid", float(strict is not None and self.schema.validator.is_valid(strict))),
                Score("schema_valid_lenient", float(lenient is not None and self.schema.validator.is_valid(lenient)))]


@register("fields")
class FieldScorer(ScorerBase):
    """Per-field accuracy against the reference JSON (``field:<name>``) and their mean (``field_mean``).

    An output that is not a JSON object scores 0 on every field. Cases whose reference is
    not a JSON object are not scored by this scorer.
    """

    def __init__(self, fields: list[str]) -> None:
        self.fields = list(fields)
        self.metrics = {f"field:{name}": True for name in self.fields} | {"field_mean": True}

    def applies(self, case: Case) -> bool:
        return isinstance(parse_strict(case.reference or ""), dict)

    def score_text(self, case: Case, text: str) -> list[Score]:
        reference = parse_strict(case.reference or "")
        assert isinstance(reference, dict)  # applies() admits only JSON-object references
        output = parse_strict(text)
        output = output if isinstance(output, dict) else {}
        values = [float(name in output and output[name] == reference.get(name)) for name in self.fields]
        return [Score(f"field:{name}", value) for name, value in zip(self.fields, values, strict=True)] + [
            Score("field_mean", sum(values) / len(values))]


def field_value(text: str | None, name: str) -> str:
    """The field's value as a label for macro-F1 (``<invalid>`` when the output has no such field)."""
    output = parse_strict(text or "")
    if not isinstance(output, dict) or name not in output:
        return "<invalid>"
    return json.dumps(output[name])
