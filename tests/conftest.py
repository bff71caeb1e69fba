"""Shared helpers for tests that build chat-format examples."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pytest


def chat(user: str, assistant: str, system: str | None = None) -> dict[str, Any]:
    """One chat example as the dict a JSONL line holds."""
    messages = [{"role": "system", "content": system}] if system else []
    messages += [{"role": "user", "content": user}, {"role": "assistant", "content": assistant}]
    return {"messages": messages}


@pytest.fixture
def make_chat() -> Callable[..., dict[str, Any]]:
    """The :func:`chat` builder."""
    return chat


@pytest.fixture
def write_jsonl(tmp_path: Path) -> Callable[[str, Iterable[dict[str, Any]]], Path]:
    """Write rows as a JSONL file under ``tmp_path`` and return its path."""

    def write(name: str, rows: Iterable[dict[str, Any]]) -> Path:
        path = tmp_path / name
        path.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), encoding="utf-8")
        return path

    return write


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory) -> Path:
    """A 2-layer random-weight Llama with the embedded model's tokenizer, saved once per session."""
    from tests.tiny import make_tiny_checkpoint

    return make_tiny_checkpoint(tmp_path_factory.mktemp("tiny") / "model")


@pytest.fixture(scope="session")
def tiny_adapters(tiny_checkpoint, tmp_path_factory) -> dict[str, Path]:
    """Three adapters for the tiny model: two with random (effective) weights, one untouched (no effect)."""
    from tests.tiny import make_adapter

    folder = tmp_path_factory.mktemp("adapters")
    return {name: make_adapter(tiny_checkpoint, folder / name, seed=seed, effective=effective)
            for name, seed, effective in (("a", 1, True), ("b", 2, True), ("noop", 3, False))}
