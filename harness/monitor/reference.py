"""The reference the monitor compares production with: training data, held-out set, output schema.

Without ``--schema`` the output schema is inferred from the reference outputs when they are
all JSON objects: the keys every output has are required, no other keys are allowed, and a
field with at most :data:`MAX_LEVELS` distinct string or boolean values is an enum of them.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.data.load import load_examples
from harness.data.normalize import dialogue_text
from harness.data.schema import OutputSchema
from harness.errors import InputError
from harness.records import Example

MAX_LEVELS = 20


@dataclass(frozen=True)
class Reference:
    """Reference inputs and outputs, loaded once."""

    path: str
    heldout_path: str | None
    train: list[Example]
    heldout: list[Example]
    schema: OutputSchema | None
    """What a healthy reply must satisfy; None when the outputs are free text."""
    fields: tuple[str, ...]
    """Categorical output fields whose distribution is compared."""

    @property
    def inputs(self) -> list[str]:
        """Normalised inputs of training and held-out examples (the drift reference)."""
        return [dialogue_text(e.prompt_messages) for e in (*self.train, *self.heldout)]

    @property
    def target(self) -> list[Example]:
        """What the gate tested: the held-out set, or the training data without one."""
        return self.heldout or self.train


def load_reference(path: str | Path, heldout: str | Path | None = None, schema: str | Path | None = None) -> Reference:
    """Load and check the reference files.

    Raises:
        InputError: a file is missing or has a malformed line (``path:line``), or is empty.
    """
    train = load_examples(path)
    held = load_examples(heldout) if heldout is not None else []
    if not train:
        raise InputError("the reference has no examples; give the training data", path=str(path), code="empty-reference")
    outputs = [e.output or "" for e in (held or train)]
    spec = OutputSchema.from_file(schema) if schema is not None else infer_schema(outputs)
    fields = categorical_fields(spec.validator.schema) if spec is not None else ()
    return Reference(str(path), str(heldout) if heldout is not None else None, train, held, spec, fields)


def infer_schema(outputs: Sequence[str]) -> OutputSchema | None:
    """A JSON Schema that every reference output satisfies, or None when they are not all JSON objects."""
    values = [_object(text) for text in outputs]
    if not values or any(v is None for v in values):
        return None
    objects: list[dict[str, Any]] = [v for v in values if v is not None]
    keys = sorted({k for o in objects for k in o})
    properties = {k: _property([o[k] for o in objects if k in o]) for k in keys}
    required = [k for k in keys if all(k in o for o in objects)]
    schema = {"type": "object", "properties": properties, "required": required, "additionalProperties": False}
    return OutputSchema(schema, "<schema inferred from the reference outputs>")


def categorical_fields(schema: Any) -> tuple[str, ...]:
    """The properties of an object schema that take a few discrete values (an enum or a boolean)."""
    properties = schema.get("properties", {}) if isinstance(schema, dict) else {}
    return tuple(k for k, p in properties.items() if isinstance(p, dict) and ("enum" in p or p.get("type") == "boolean"))


def _object(text: str) -> dict[str, Any] | None:
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        return None
    return value if isinstance(value, dict) else None


def _property(values: list[Any]) -> dict[str, Any]:
    if all(isinstance(v, bool) for v in values):
        return {"type": "boolean"}
    if all(isinstance(v, str) for v in values):
        levels = sorted(set(values))
        return {"type": "string", "enum": levels} if len(levels) <= MAX_LEVELS else {"type": "string"}
    return {}
