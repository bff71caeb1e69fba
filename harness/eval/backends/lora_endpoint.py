"""Candidate adapters on a running serving engine, through its dynamic LoRA endpoints.

vLLM started with ``--enable-lora`` and ``VLLM_ALLOW_RUNTIME_LORA_UPDATING=True`` accepts
``POST /v1/load_lora_adapter`` and ``POST /v1/unload_lora_adapter`` with ``lora_name`` and
``lora_path``; a loaded adapter is then a model name of its own in chat completions. The
OpenAI-compatible backend registers an adapter folder here, loads it on the first request
that needs it, sends those requests under its served name and unloads it on ``close``.

The served name carries the first 12 hex digits of the weights' sha256, so an engine never
answers for other bytes under a name the harness reuses, and a name left loaded by an
interrupted run is reused safely. The path sent is the folder's absolute path: the engine
must see the same file system (or a mount at the same path).
"""

from __future__ import annotations

import json
import logging
import re
import threading
import urllib.error
import urllib.request
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from harness.errors import ConfigError, HarnessError
from harness.eval.adapters import check_adapter_folder
from harness.fileio import sha256_file, sha256_text
from harness.models.cache import cached_sha256

logger = logging.getLogger(__name__)
LOAD, UNLOAD = "load_lora_adapter", "unload_lora_adapter"
_RANK_REFUSED = re.compile(r"LoRA rank (?P<rank>\d+) is greater than max_lora_rank (?P<limit>\d+)")
"""vLLM's refusal of an adapter above ``--max-lora-rank`` (HTTP 500 from ``load_lora_adapter``)."""


class _Key(Protocol):
    def reveal(self) -> str: ...


class EngineError(HarnessError):
    """The engine refused to load or unload an adapter."""

    code = "engine-lora"


@dataclass(frozen=True)
class EngineAdapter:
    """An adapter folder registered for a serving engine."""

    name: str
    """The harness's name for it (the variant's adapter name)."""
    path: str
    """Absolute folder path, as sent to the engine."""
    sha256: str
    """sha256 of ``adapter_model.safetensors``: part of every cache key."""
    config_sha256: str
    """sha256 of ``adapter_config.json`` (its ``lora_alpha`` scales every output): part of every cache key too."""

    @property
    def served_name(self) -> str:
        """The model name the engine serves it under: other weights or another config, another name."""
        return f"{self.name}-{sha256_text(self.sha256 + self.config_sha256)[:12]}"

    def identity(self) -> dict[str, Any]:
        """Path and hashes (weights and config), as the local backend records them, plus the served name."""
        return {"path": self.path, "sha256": self.sha256, "config_sha256": self.config_sha256,
                "served_as": self.served_name}


class LoraEndpoint:
    """Register, load and unload adapters on one engine (thread-safe).

    Args:
        base_url: the engine's API root, e.g. ``http://127.0.0.1:8000/v1``.
        key: the API key holder (its ``reveal()`` is sent as a bearer token).
        timeout_s: per-request timeout (loading reads the weights: allow a few seconds).
    """

    def __init__(self, base_url: str, key: _Key, timeout_s: float = 60.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.adapters: dict[str, EngineAdapter] = {}
        self.loaded: set[str] = set()
        """Served names this process loaded (and will unload)."""
        self._key, self._timeout = key, timeout_s
        self._lock = threading.Lock()

    def register(self, name: str, folder: str | Path) -> EngineAdapter:
        """Register the adapter in ``folder`` as ``name`` (nothing is sent yet).

        Raises:
            InputError: not an adapter folder with safetensors weights.
        """
        folder = Path(folder)
        check_adapter_folder(folder)
        adapter = EngineAdapter(name, str(folder.resolve()), cached_sha256(folder / "adapter_model.safetensors"),
                                sha256_file(folder / "adapter_config.json"))
        with self._lock:
            self.adapters[name] = adapter
        return adapter

    def identity(self, name: str) -> dict[str, Any]:
        """The registered adapter's identity.

        Raises:
            ConfigError: ``name`` was never registered.
        """
        if name not in self.adapters:
            raise ConfigError(f"adapter {name!r} is not registered with the openai backend; registered: "
                              f"{', '.join(self.adapters) or 'none'}")
        return self.adapters[name].identity()

    def served_names(self, names: Iterable[str | None]) -> dict[str, str]:
        """Load each named adapter not loaded yet; return name → served model name.

        Raises:
            ConfigError: an unregistered name, or an engine without dynamic LoRA loading.
            EngineError: the engine refused the adapter.
        """
        served: dict[str, str] = {}
        for name in sorted({n for n in names if n is not None}):
            self.identity(name)  # unregistered: ConfigError
            adapter = self.adapters[name]
            with self._lock:
                if adapter.served_name not in self.loaded:
                    self._post(LOAD, adapter)
                    self.loaded.add(adapter.served_name)
                    logger.info("loaded adapter %s on %s as %s", adapter.path, self.base_url, adapter.served_name)
            served[name] = adapter.served_name
        return served

    def unload_all(self) -> None:
        """Unload every adapter this process loaded; failures are logged, never raised (idempotent)."""
        with self._lock:
            served, self.loaded = set(self.loaded), set()
        for adapter in (a for a in self.adapters.values() if a.served_name in served):
            try:
                self._post(UNLOAD, adapter)
            except HarnessError as exc:
                logger.warning("could not unload %s from %s: %s", adapter.served_name, self.base_url, exc)

    def _post(self, verb: str, adapter: EngineAdapter) -> None:
        body = {"lora_name": adapter.served_name} | ({"lora_path": adapter.path} if verb == LOAD else {})
        request = urllib.request.Request(f"{self.base_url}/{verb}", data=json.dumps(body).encode(), method="POST",
                                         headers={"Authorization": f"Bearer {self._key.reveal()}",
                                                  "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=self._timeout):
                return
        except urllib.error.HTTPError as exc:
            status, text = exc.code, exc.read().decode(errors="replace")
        except OSError as exc:  # refused, timed out, unreachable
            raise EngineError(f"POST {self.base_url}/{verb} failed: {type(exc).__name__}: {exc}") from exc
        if status in (404, 405):
            raise ConfigError(no_endpoint_message(self.base_url, verb, status, adapter))
        if status == 400 and verb == LOAD and "already" in text.lower():
            return  # loaded by an earlier, interrupted run: the hash in the name makes it the same bytes
        rank = _RANK_REFUSED.search(text) if verb == LOAD else None
        if rank:
            raise EngineError(f"{adapter.path}: LoRA rank {rank['rank']} is above the engine's --max-lora-rank "
                              f"{rank['limit']} ({self.base_url}); restart vLLM with --max-lora-rank {rank['rank']} or "
                              f"more, or train the adapter with lora.r <= {rank['limit']}")
        raise EngineError(f"POST {self.base_url}/{verb} for {adapter.served_name} answered HTTP {status}: "
                          f"{' '.join(text.split())[:300]}")


def no_endpoint_message(base_url: str, verb: str, status: int, adapter: EngineAdapter) -> str:
    """What to do when the engine has no dynamic LoRA endpoint."""
    return (f"the engine at {base_url} cannot load adapters at runtime (POST {base_url}/{verb} answered HTTP {status}); "
            f"start vLLM with "
            f"VLLM_ALLOW_RUNTIME_LORA_UPDATING=True and `vllm serve BASE --enable-lora --max-lora-rank R`, or serve "
            f"the adapter as its own model (`vllm serve BASE --enable-lora --lora-modules "
            f"{adapter.served_name}={adapter.path}`) and evaluate it with `model: openai:{adapter.served_name}` "
            f"in a config of its own")
