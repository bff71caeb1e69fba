"""Every lint code, its severity and what it means: the one table lint reports from."""

from __future__ import annotations

from typing import NamedTuple

from harness.records import Severity


class Code(NamedTuple):
    """A lint code with its default severity and a one-line description."""

    name: str
    severity: Severity
    description: str


_CODES = [
    Code("invalid-json", "error", "the line is not valid JSON"),
    Code("not-object", "error", "the line is JSON but not an object"),
    Code("messages-missing", "error", "`messages` is missing or not a list"),
    Code("unknown-key", "error", "a key that is not part of the chat format (example or message)"),
    Code("bad-metadata", "error", "the optional `metadata` of an example is not an object"),
    Code("unknown-role", "error", "a role other than system, user, assistant"),
    Code("bad-content", "error", "a message content that is empty or not a string"),
    Code("role-order", "error", "system only first, user/assistant alternate, last is assistant"),
    Code("no-assistant", "error", "the example has no assistant message to learn from"),
    Code("output-not-json", "error", "with --schema: the assistant output is not valid JSON"),
    Code("schema-violation", "error", "with --schema: the assistant output fails the JSON Schema"),
    Code("conflicting-outputs", "error", "the same input appears with different outputs"),
    Code("heldout-leak", "error", "a held-out example is an exact duplicate of a training example"),
    Code("heldout-near-leak", "error", "a held-out example is a near duplicate of a training example"),
    Code("duplicate", "warning", "an exact duplicate of an earlier example"),
    Code("no-examples", "error", "the file holds no example at all (empty or blank lines only)"),
    Code("too-few-examples", "warning", "fewer examples than a useful fine-tune needs"),
    Code("too-long", "warning", "longer than the model's context with its chat template"),
    Code("fresh-facts", "warning", "the output carries volatile facts that belong in retrieval"),
]

CODES: dict[str, Code] = {code.name: code for code in _CODES}


def severity_of(name: str) -> Severity:
    """Return the severity of a lint code.

    Raises:
        KeyError: ``name`` is not a known code.
    """
    return CODES[name].severity
