"""Typed records that flow through the harness, from a data file to a scored output.

The data side: an :class:`Example` read from a chat JSONL line and a lint :class:`Finding`.
The eval side: a held-out :class:`Case`, the :class:`Decoding` parameters (part of every cache
key), a :class:`GenerationRequest` for a backend, the :class:`Generation` it returns, a metric's
:class:`Score`, and the :class:`CaseResult` that joins them (one line of ``results.jsonl``).
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


@dataclass(frozen=True)
class Case:
    """A held-out example as the harness evaluates it."""

    id: str
    """Stable content hash of the task, input messages and reference."""
    task: str
    """The task (suite) the case belongs to."""
    messages: tuple[dict[str, Any], ...]
    """The input conversation as written in the data (variants may replace the system turn)."""
    reference: str | None
    """The expected output, when there is one."""
    metadata: dict[str, Any] = field(default_factory=dict, compare=False)
    """Where it came from (``source``: path:line), ``split``, ``tags`` and task checks (``accept``)."""

    @property
    def user_text(self) -> str:
        """The last user message: the query retrieval runs on."""
        return next((m["content"] for m in reversed(self.messages) if m["role"] == "user"), "")


@dataclass(frozen=True)
class Decoding:
    """Decoding parameters: part of every cache key."""

    max_new_tokens: int = field(default=64, metadata={"help": "cap on generated tokens", "min": 1})
    """Cap on generated tokens."""
    temperature: float = field(default=0.0, metadata={"help": "0 = greedy", "min": 0})
    """0 means greedy decoding."""
    top_p: float = field(default=1.0, metadata={"help": "nucleus sampling mass", "above": 0, "max": 1})
    """Nucleus sampling mass when sampling."""
    seed: int = field(default=0, metadata={"help": "sampling seed"})
    """Sampling seed; repeat ``k`` of a case samples with ``seed + k``."""
    stop_at_json_end: bool = field(default=False, metadata={"help": "end each output at its first complete JSON value"})
    """For structured tasks: stop generating, and drop what follows, once an output that starts with
    ``{`` or ``[`` holds a complete JSON value (harness.eval.jsonstop); other outputs are unchanged."""


@dataclass(frozen=True)
class GenerationRequest:
    """One prompt for a backend: a case rendered by a variant."""

    case_id: str
    """The case this prompt was rendered from."""
    variant: str
    """The variant that rendered it."""
    messages: tuple[dict[str, Any], ...]
    """The conversation the model sees (system prompt, demonstrations or passages, the case)."""
    adapter: str | None = None
    """Name of the adapter to activate (local backend), None for the base model."""
    sample: int = 0
    """Repeat index (``--repeats``); each is generated and cached separately."""


@dataclass
class Generation:
    """What a backend produced for one request."""

    case_id: str
    """The case."""
    variant: str
    """The variant."""
    sample: int = 0
    """Repeat index."""
    text: str | None = None
    """The output; None when generation failed."""
    prompt_tokens: int | None = None
    """Tokens in the rendered prompt."""
    completion_tokens: int | None = None
    """Tokens generated."""
    latency_s: float | None = None
    """Seconds to produce it (local batches: the batch's time shared by its requests)."""
    cached: bool = False
    """Served from the generation cache."""
    error: str | None = None
    """Why generation failed; such generations are never cached."""


@dataclass(frozen=True)
class Score:
    """One metric's value for one generation."""

    metric: str
    """Metric name, e.g. ``schema_valid``."""
    value: float | None
    """The score; None means could not score (never silently 0)."""
    detail: str | None = None
    """Why, in a few words (especially when ``value`` is None)."""


@dataclass
class CaseResult:
    """A case, one generation for it under one variant, and its scores: one line of results.jsonl."""

    case: Case
    """The case."""
    generation: Generation
    """The generation."""
    scores: list[Score] = field(default_factory=list)
    """Scores from every scorer that applies."""

    def to_json(self) -> str:
        """One JSON line."""
        return json.dumps(asdict(self), ensure_ascii=False)

    @classmethod
    def from_json(cls, line: str) -> CaseResult:
        """Parse a line written by :meth:`to_json` (the history store reads runs back with it)."""
        data = json.loads(line)
        case = data["case"]
        return cls(
            Case(case["id"], case["task"], tuple(case["messages"]), case["reference"], case.get("metadata", {})),
            Generation(**data["generation"]),
            [Score(**s) for s in data.get("scores", [])],
        )
