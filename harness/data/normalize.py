"""Text normalisation shared by duplicate detection, leakage checks and the split."""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple

_SPACE = re.compile(r"\s+")


def normalize_text(text: str) -> str:
    """Casefold, apply NFKC and collapse whitespace, so trivial edits compare equal."""
    return _SPACE.sub(" ", unicodedata.normalize("NFKC", text).casefold()).strip()


def conversation_key(messages: Iterable[dict[str, Any]]) -> str:
    """A canonical, normalised string for a list of messages (roles and contents)."""
    return json.dumps([[m.get("role"), normalize_text(str(m.get("content", "")))] for m in messages])


class ExampleKeys(NamedTuple):
    """Normalised keys of one example, computed once and shared by lint's checks."""

    full: str
    """Every message: equal keys are duplicate examples."""
    prompt: str
    """Every message but the final assistant turn: equal keys are the same input."""
    output: str
    """The normalised final assistant output."""


def example_keys(messages: Sequence[dict[str, Any]]) -> ExampleKeys:
    """Keys of a conversation whose last message is the assistant's output."""
    pairs: list[tuple[Any, str]] = [(m.get("role"), normalize_text(str(m.get("content", "")))) for m in messages]
    return ExampleKeys(json.dumps(pairs), json.dumps(pairs[:-1]), pairs[-1][1] if pairs else "")


def dialogue_text(messages: Iterable[dict[str, Any]]) -> str:
    """The normalised user-visible text of the non-system messages, joined by newlines.

    Used for near-duplicate search: the system prompt is usually shared by every
    example and would make unrelated examples look alike.
    """
    return "\n".join(normalize_text(str(m.get("content", ""))) for m in messages if m.get("role") != "system")
