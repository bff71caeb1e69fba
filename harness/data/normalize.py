"""Text normalisation shared by duplicate detection, leakage checks and the split."""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterable
from typing import Any

_SPACE = re.compile(r"\s+")


def normalize_text(text: str) -> str:
    """Casefold, apply NFKC and collapse whitespace, so trivial edits compare equal."""
    return _SPACE.sub(" ", unicodedata.normalize("NFKC", text).casefold()).strip()


def conversation_key(messages: Iterable[dict[str, Any]]) -> str:
    """A canonical, normalised string for a list of messages (roles and contents)."""
    return json.dumps([[m.get("role"), normalize_text(str(m.get("content", "")))] for m in messages])


def dialogue_text(messages: Iterable[dict[str, Any]]) -> str:
    """The normalised user-visible text of the non-system messages, joined by newlines.

    Used for near-duplicate search: the system prompt is usually shared by every
    example and would make unrelated examples look alike.
    """
    return "\n".join(normalize_text(str(m.get("content", ""))) for m in messages if m.get("role") != "system")
