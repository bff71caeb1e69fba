"""Read production logs: chat-format JSONL plus optional metadata, malformed lines counted.

A log line is ``{"messages": [...]}`` (the request and, last, the model's reply) with optional
``timestamp`` (ISO 8601 or seconds since the epoch; naive times are UTC), ``variant`` or
``adapter``, ``latency_ms``, ``correction`` (a reply a person wrote instead), ``feedback`` and
``judge_score`` (in [0, 1]). Other keys are ignored. A line that cannot be used is a
:class:`~harness.monitor.records.MalformedLine` with its number: it is counted, never fatal.
"""

from __future__ import annotations

import json
import logging
import math
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple

from harness.data.load import read_lines
from harness.data.normalize import dialogue_text
from harness.monitor.records import LogRecord, MalformedLine

logger = logging.getLogger(__name__)


class LogFile(NamedTuple):
    """The usable records of a log file and its malformed lines."""

    path: str
    records: list[LogRecord]
    malformed: list[MalformedLine]


class _Bad(ValueError):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def read_logs(path: str | Path) -> LogFile:
    """Parse a log file line by line.

    Raises:
        InputError: the file is missing, a directory or not UTF-8 (nothing can be read).
    """
    records: list[LogRecord] = []
    malformed: list[MalformedLine] = []
    for number, text in enumerate(read_lines(path), start=1):
        if not text.strip():
            continue
        try:
            records.append(parse_line(text, number))
        except _Bad as exc:
            malformed.append(MalformedLine(number, exc.code, str(exc)))
    if malformed:
        logger.info("%s: %d malformed lines (first at line %d)", path, len(malformed), malformed[0].line)
    return LogFile(str(path), records, malformed)


def parse_line(text: str, number: int) -> LogRecord:
    """One log line as a record.

    Raises:
        _Bad: the line is not usable (its code and message say why).
    """
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise _Bad("invalid-json", f"{exc.msg} at column {exc.colno}") from None
    if not isinstance(data, dict):
        raise _Bad("not-object", f"got a JSON {type(data).__name__}; each line must be an object with `messages`")
    messages = _messages(data.get("messages"))
    reply = messages[-1]["content"] if messages[-1]["role"] == "assistant" else None
    request = tuple(messages[:-1] if reply is not None else messages)
    if not any(m["role"] == "user" for m in request):
        raise _Bad("messages-missing", "the request has no user message")
    return LogRecord(
        line=number, messages=request, reply=reply, input_text=dialogue_text(request),
        timestamp=_timestamp(data.get("timestamp")), variant=_text(data, "variant") or _text(data, "adapter"),
        latency_ms=_number(data, "latency_ms", 0.0, math.inf), correction=_text(data, "correction"),
        judge_score=_number(data, "judge_score", 0.0, 1.0),
    )


def _messages(value: Any) -> list[dict[str, str]]:
    if not isinstance(value, list) or not value:
        raise _Bad("messages-missing", "`messages` must be a non-empty list of {role, content} objects")
    for index, message in enumerate(value):
        if not isinstance(message, dict) or message.get("role") not in ("system", "user", "assistant"):
            raise _Bad("messages-missing", f"messages[{index}] is not a {{role, content}} object with a known role")
        if not isinstance(message.get("content"), str):
            raise _Bad("messages-missing", f"messages[{index}].content is not a string")
    return [{"role": m["role"], "content": m["content"]} for m in value]


def _timestamp(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            pass
        else:
            return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()
    raise _Bad("bad-field", f"timestamp {value!r} is neither ISO 8601 nor seconds since the epoch")


def _text(data: dict[str, Any], key: str) -> str | None:
    value = data.get(key)
    if value is None or isinstance(value, str):
        return value or None
    raise _Bad("bad-field", f"`{key}` must be a string, got {type(value).__name__}")


def _number(data: dict[str, Any], key: str, low: float, high: float) -> float | None:
    value = data.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise _Bad("bad-field", f"`{key}` must be a number in [{low:g}, {high:g}], got {value!r}")
    return float(value)
