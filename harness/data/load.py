"""Read chat-format JSONL into :class:`~harness.records.Example` records.

The reader never stops at the first problem: each line is checked against the chat
format and every problem becomes a :class:`~harness.records.Finding` with its line.
Only lines that pass every structural check become examples.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, NamedTuple

from harness.data.codes import severity_of
from harness.errors import InputError
from harness.fileio import check_regular_file
from harness.records import Example, Finding

EXAMPLE_KEYS = frozenset({"messages", "metadata"})
"""``metadata``: an optional object (task, tags, provenance ...) that training and evaluation ignore."""
MESSAGE_KEYS = frozenset({"role", "content", "name", "weight"})
ROLES = ("system", "user", "assistant")


class ParsedFile(NamedTuple):
    """The structurally valid examples of a file and the findings about the rest."""

    examples: list[Example]
    findings: list[Finding]


def read_lines(path: str | Path) -> list[str]:
    """Return the lines of a UTF-8 text file.

    Raises:
        InputError: the file is missing, a directory, a pipe or device, or not UTF-8 text.
    """
    path = check_regular_file(path, "JSONL file")
    try:
        # JSONL lines end at "\n" only: str.splitlines() would also break at U+2028, U+0085
        # and other separators that JSON allows raw inside strings.
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(
            f"not UTF-8 text (byte {exc.start}); save the file as UTF-8", path=str(path), code="not-utf8"
        ) from exc
    lines = text.split("\n")
    return lines[:-1] if lines[-1] == "" else lines


def parse_jsonl(path: str | Path) -> ParsedFile:
    """Parse a chat JSONL file, checking every line against the chat format.

    Blank lines are skipped. Each finding carries the 1-based line number.
    """
    examples: list[Example] = []
    findings: list[Finding] = []
    for number, text in enumerate(read_lines(path), start=1):
        if not text.strip():
            continue
        data, problems = _check_line(text)
        findings.extend(Finding(str(path), number, code, severity_of(code), msg) for code, msg in problems)
        if not problems:
            extra = {k: v for k, v in data.items() if k != "messages"}
            examples.append(Example(tuple(data["messages"]), str(path), number, extra))
    return ParsedFile(examples, findings)


def load_examples(path: str | Path) -> list[Example]:
    """Load a chat JSONL file that must be valid.

    Raises:
        InputError: the first structural problem, as ``path:line: code: message``.
    """
    parsed = parse_jsonl(path)
    if parsed.findings:
        first = parsed.findings[0]
        more = f" (and {len(parsed.findings) - 1} more; run `harness lint {path}`)" if len(parsed.findings) > 1 else ""
        raise InputError(first.message + more, path=first.path, line=first.line, code=first.code)
    return parsed.examples


def _check_line(text: str) -> tuple[Any, list[tuple[str, str]]]:
    """The parsed line and its problems (the data is usable only when there are none)."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        return None, [("invalid-json", f"{exc.msg} at column {exc.colno}; each line must be one JSON object")]
    except RecursionError:
        return None, [("invalid-json", "nested too deeply to read; each line must be one flat chat example")]
    except ValueError as exc:  # e.g. an integer longer than Python converts
        return None, [("invalid-json", f"{exc}; each line must be one JSON object")]
    if not isinstance(data, dict):
        return None, [("not-object", f"got a JSON {type(data).__name__}; each line must be an object with `messages`")]
    return data, _check_example(data)


def _check_example(data: dict[str, Any]) -> list[tuple[str, str]]:
    problems = [
        ("unknown-key", f"unknown key {key!r} in example; allowed: {', '.join(sorted(EXAMPLE_KEYS))}")
        for key in data
        if key not in EXAMPLE_KEYS
    ]
    if "metadata" in data and not isinstance(data["metadata"], dict):
        problems.append(("bad-metadata", f"`metadata` must be an object, got a JSON {type(data['metadata']).__name__}"))
    messages = data.get("messages")
    if not isinstance(messages, list) or not messages:
        return problems + [("messages-missing", "`messages` must be a non-empty list of {role, content} objects")]
    return problems + _check_messages(messages)


def _check_messages(messages: list[Any]) -> list[tuple[str, str]]:
    problems: list[tuple[str, str]] = []
    for index, message in enumerate(messages):
        if not isinstance(message, dict):
            problems.append(("messages-missing", f"messages[{index}] is not an object"))
            continue
        for key in message:
            if key not in MESSAGE_KEYS:
                allowed = ", ".join(sorted(MESSAGE_KEYS))
                problems.append(("unknown-key", f"unknown key {key!r} in messages[{index}]; allowed: {allowed}"))
        role = message.get("role")
        if role not in ROLES:
            problems.append(("unknown-role", f"messages[{index}] has role {role!r}; allowed: {', '.join(ROLES)}"))
        problems.extend(_check_content(index, message.get("content")))
    if problems:
        return problems
    return _check_order([m["role"] for m in messages])


def _check_content(index: int, content: Any) -> list[tuple[str, str]]:
    if not isinstance(content, str) or not content.strip():
        what = "empty" if isinstance(content, str) else f"of type {type(content).__name__}, not a string"
        return [("bad-content", f"messages[{index}].content is {what}; write the text of the turn")]
    try:
        content.encode("utf-8")
    except UnicodeEncodeError as exc:  # a lone surrogate escape such as "\ud800": no tokenizer can encode it
        return [("bad-content", f"messages[{index}].content holds a lone surrogate ({content[exc.start]!r} at "
                                f"character {exc.start}), which is not text; fix the escape or drop it")]
    return []


def _check_order(roles: list[str]) -> list[tuple[str, str]]:
    if "assistant" not in roles:
        return [("no-assistant", "no assistant message; add the output the model should learn")]
    turns = roles[1:] if roles[0] == "system" else roles
    expected = ["user" if i % 2 == 0 else "assistant" for i in range(len(turns))]
    if "system" in turns or turns != expected or turns[-1:] != ["assistant"]:
        return [(
            "role-order",
            f"roles are {' → '.join(roles)}; expected an optional system first, "
            "then user and assistant alternating, ending with assistant",
        )]
    return []
