"""The backend protocol: one batch-shaped method.

A backend turns a batch of :class:`~harness.records.GenerationRequest` into generations in
the same order. A failure of one request goes into that generation's ``error``; it never
sinks the batch.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from harness.records import Decoding, Generation, GenerationRequest


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
