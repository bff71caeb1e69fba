"""What a vLLM server says about itself, and its tokenizer, over plain HTTP.

vLLM answers ``GET /version`` (its version), ``GET /v1/models`` (each served model with its
``root`` path and ``max_model_len``; loaded LoRA adapters appear with a ``parent``) and
``POST /tokenize`` at the server root, beside the OpenAI routes under ``/v1``. The OpenAI
backend records the first two in the run manifest (:class:`EngineIdentity`) and uses the third
to read token losses. Any other OpenAI-compatible server may answer none of them: the identity is
then None, and token losses fail with the reason.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Protocol

from harness.errors import HarnessError
from harness.manifests import EngineInfo


class _Key(Protocol):
    def reveal(self) -> str: ...


class EngineUnreachable(HarnessError):
    """The engine did not answer a request the harness needs."""

    code = "engine"


EngineIdentity = EngineInfo
"""The manifest's record of an engine (:class:`harness.manifests.EngineInfo`)."""


def server_root(base_url: str) -> str:
    """``http://host:port`` of ``http://host:port/v1`` (vLLM's ``/tokenize`` and ``/version`` live at the root)."""
    return base_url.rstrip("/").removesuffix("/v1")


def _request(url: str, key: _Key, timeout_s: float, body: dict[str, Any] | None = None) -> Any:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method="GET" if body is None else "POST",
                                     headers={"Authorization": f"Bearer {key.reveal()}", "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=timeout_s) as response:
        return json.loads(response.read())


def probe_engine(base_url: str, model: str, key: _Key, timeout_s: float) -> EngineIdentity | None:
    """The engine's identity, or None when it answers neither ``/version`` nor ``/v1/models`` usefully."""
    from harness.models.cache import cached_sha256

    version = entry = None
    try:
        answer = _request(server_root(base_url) + "/version", key, timeout_s)
        version = answer.get("version") if isinstance(answer, dict) else None
    except (OSError, ValueError):
        pass
    try:
        answer = _request(base_url.rstrip("/") + "/models", key, timeout_s)
        models = answer.get("data") if isinstance(answer, dict) else None
        entry = next((m for m in models or [] if isinstance(m, dict) and m.get("id") == model), None)
    except (OSError, ValueError):
        pass
    if version is None and entry is None:
        return None
    entry = entry or {}
    root = entry.get("root") if isinstance(entry.get("root"), str) else None
    weights = Path(root) / "model.safetensors" if root else None
    max_len = entry.get("max_model_len")
    return EngineIdentity(version=version if isinstance(version, str) else None, model=entry.get("id"), root=root,
                          max_model_len=max_len if isinstance(max_len, int) else None,
                          weights_sha256=cached_sha256(weights) if weights is not None and weights.is_file() else None)


def tokenize(base_url: str, model: str, text: str, key: _Key, timeout_s: float) -> list[int]:
    """The token ids of ``text`` as the engine's tokenizer gives them (special tokens added as in training).

    Raises:
        EngineUnreachable: no ``/tokenize`` (not vLLM) or a failed request.
    """
    url = server_root(base_url) + "/tokenize"
    try:
        answer = _request(url, key, timeout_s, {"model": model, "prompt": text, "add_special_tokens": True})
    except urllib.error.HTTPError as exc:
        raise EngineUnreachable(f"POST {url} answered HTTP {exc.code}") from None
    except (OSError, ValueError) as exc:
        raise EngineUnreachable(f"POST {url} failed: {type(exc).__name__}: {exc}") from None
    tokens = answer.get("tokens") if isinstance(answer, dict) else None
    if not isinstance(tokens, list) or not all(isinstance(t, int) for t in tokens):
        raise EngineUnreachable(f"POST {url} answered without a token list")
    return tokens
