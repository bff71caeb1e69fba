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


@pytest.fixture(scope="session")
def vllm_engine(tmp_path_factory):
    """A real vLLM CPU server on the embedded model (``tests/vllm_server.py``), one per session.

    Yields a :class:`tests.vllm_server.SessionEngine`: ``.get()`` is the running server. Without the
    vLLM virtualenv (``bash .ci/vllm_env.sh``) the engine tests fail under CI (``CI=true``) and are
    skipped elsewhere, with the reason.
    """
    import os

    from harness.models import resolve_model
    from tests.vllm_server import MODEL_NAME, SessionEngine, missing_reason

    reason = missing_reason()
    if reason:
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(f"engine tests cannot run under CI: {reason}")
        pytest.skip(reason)
    engine = SessionEngine(resolve_model(MODEL_NAME).location, tmp_path_factory.mktemp("vllm"))
    try:
        yield engine
    finally:
        engine.close()
