"""Typed records that flow through the harness.

This module holds the dataset side of the pipeline (an :class:`Example` read from a chat
JSONL file, and a lint :class:`Finding`). Later stages add Case, Generation, Score and
CaseResult beside them.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class Example:
    """One chat-format training or held-out example, as read from a JSONL line."""

    messages: tuple[dict[str, Any], ...]
    """The conversation: dicts with ``role`` and ``content`` (and OpenAI's optional keys)."""
    path: str
    """The file the example was read from."""
    line: int
    """The 1-based line of ``path`` that holds the example."""
    extra: dict[str, Any] = field(default_factory=dict, compare=False)
    """Other top-level keys kept from the line (none are allowed by lint today)."""

    @property
    def prompt_messages(self) -> tuple[dict[str, Any], ...]:
        """All messages before the final assistant turn: what the model is given."""
        if self.messages and self.messages[-1].get("role") == "assistant":
            return self.messages[:-1]
        return self.messages

    @property
    def output(self) -> str | None:
        """The content of the final assistant message: what the model should produce."""
        if self.messages and self.messages[-1].get("role") == "assistant":
            content = self.messages[-1].get("content")
            return content if isinstance(content, str) else None
        return None

    def to_json_line(self) -> str:
        """Serialise back to one JSONL line (``messages`` plus kept extra keys)."""
        return json.dumps({"messages": list(self.messages), **self.extra}, ensure_ascii=False)


@dataclass(frozen=True)
class Finding:
    """One problem found in a dataset file by ``harness lint``."""

    path: str
    """The file the finding is about."""
    line: int
    """The 1-based line; 0 when the finding is about the file as a whole."""
    code: str
    """A stable kebab-case identifier, e.g. ``invalid-json`` (see ``harness.data.codes``)."""
    severity: Severity
    """``error`` fails lint; ``warning`` fails it only with ``--strict``."""
    message: str
    """What is wrong and what to do about it."""

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.code}: {self.message}"

    def to_dict(self) -> dict[str, Any]:
        """The finding as the JSON object of ``lint --format json``."""
        return asdict(self)
