"""The backend protocol: one batch-shaped method.

A backend turns a batch of :class:`~harness.records.GenerationRequest` into generations in
the same order. A failure of one request goes into that generation's ``error``; it never
sinks the batch. A backend that can also attach LoRA adapters and read token losses (the
local one) is an :class:`AdapterBackend`; callers ask ``isinstance(backend, AdapterBackend)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from harness.records import Decoding, Generation, GenerationRequest


@runtime_checkable
class Backend(Protocol):
    """Anything that can generate for a batch of requests."""

    kind: str
    """``local`` or ``openai``: part of the cache key."""

    def identity(self) -> dict[str, Any]:
        """Model identity for cache keys and manifests (path or id, revision or weights hash)."""
        ...

    def adapter_identity(self, name: str | None) -> dict[str, Any] | None:
        """Identity (hash) of a registered adapter; None for the base model."""
        ...

    def generate(self, requests: Sequence[GenerationRequest], decoding: Decoding) -> list[Generation]:
        """One generation per request, in order."""
        ...


@runtime_checkable
class AttachesAdapters(Backend, Protocol):
    """A backend that attaches LoRA adapters by name (local; openai on an engine with dynamic LoRA loading)."""

    def add_adapter(self, name: str, folder: str | Path, *, lazy: bool = False) -> None:
        """Register the adapter in ``folder`` as ``name`` (``lazy``: load it on first use)."""
        ...


@runtime_checkable
class AdapterBackend(AttachesAdapters, Protocol):
    """A backend that attaches LoRA adapters by name and scores text (the gate's forgetting check needs both)."""

    def token_losses(self, texts: Sequence[str], adapter: str | None, *, batch_size: int = 8) -> list[float]:
        """Mean per-token loss of each text under ``adapter`` (None: the base model)."""
        ...
