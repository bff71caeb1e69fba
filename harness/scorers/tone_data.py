"""What the tone scorer learns from: the target style and the contrasting text, each with its provenance."""

from __future__ import annotations

import json
from dataclasses import dataclass

from harness.data.load import load_examples, read_lines
from harness.errors import InputError
from harness.fileio import sha256_file
from harness.scorers.tone_config import ToneSection


@dataclass(frozen=True)
class TextSource:
    """One file the tone model saw, and what it was taken as."""

    role: str
    """``target`` (training replies), ``inputs`` (training user messages), ``off_style`` or ``base_replies``."""
    path: str
    """The file as configured."""
    sha256: str
    """The file's hash when the model was fitted."""
    n: int
    """Distinct non-empty texts taken from it."""


@dataclass(frozen=True)
class ToneData:
    """Texts in the target style, texts in other styles, and the training pairs the meaning anchors come from."""

    target: list[str]
    """Reference replies of the training split (distinct)."""
    contrast: list[str]
    """Text in other styles (distinct, none of them also a target text)."""
    pairs: list[tuple[str, str]]
    """(user message, reference reply) of every training example."""
    sources: list[TextSource]
    """Where each group came from."""


def load_tone_data(config: ToneSection) -> ToneData:
    """Read the training split and the contrasting files the config names.

    Raises:
        InputError: a file that is missing or malformed, at its line.
    """
    examples = load_examples(config.train)
    pairs = [(next((m["content"] for m in reversed(e.prompt_messages) if m.get("role") == "user"), ""), e.output or "")
             for e in examples]
    target = _distinct(reply for _, reply in pairs)
    sources = [TextSource("target", config.train, sha256_file(config.train), len(target))]
    contrast: list[str] = []
    if config.contrast_inputs:
        inputs = _distinct(question for question, _ in pairs)
        contrast += inputs
        sources.append(TextSource("inputs", config.train, sha256_file(config.train), len(inputs)))
    for role, path in (("off_style", config.off_style), ("base_replies", config.base_replies)):
        if path is not None:
            texts = read_texts(path)
            contrast += texts
            sources.append(TextSource(role, path, sha256_file(path), len(texts)))
    targets = set(target)
    return ToneData(target, _distinct(t for t in contrast if t not in targets), pairs, sources)


def read_texts(path: str) -> list[str]:
    """Texts from JSONL: a chat line gives its final assistant reply, an object with ``text`` its text.

    Raises:
        InputError: a line that is neither, at its line number.
    """
    texts = []
    for number, line in enumerate(read_lines(path), start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(f"invalid JSON ({exc.msg}); one JSON object per line", path=path, line=number,
                             code="invalid-json") from None
        text = _text_of(data)
        if text is None:
            raise InputError('expected {"messages": [..., {"role": "assistant", "content": ...}]} or {"text": ...}',
                             path=path, line=number, code="bad-text")
        texts.append(text)
    return _distinct(texts)


def _text_of(data: object) -> str | None:
    if not isinstance(data, dict):
        return None
    if isinstance(data.get("text"), str):
        return str(data["text"])
    messages = data.get("messages")
    if isinstance(messages, list) and messages and isinstance(messages[-1], dict) \
            and messages[-1].get("role") == "assistant" and isinstance(messages[-1].get("content"), str):
        return str(messages[-1]["content"])
    return None


def _distinct(texts: object) -> list[str]:
    return list(dict.fromkeys(t.strip() for t in texts if isinstance(t, str) and t.strip()))  # type: ignore[attr-defined]
