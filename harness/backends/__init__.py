"""Generation backends behind one batch-shaped protocol (:class:`Backend`)."""

from __future__ import annotations

from typing import Any

from harness.backends.base import Backend
from harness.evalconfig import EvalConfig


def make_backend(config: EvalConfig, loaded: Any = None) -> Backend:
    """The backend a config asks for (``loaded``: an already loaded model to reuse, local only)."""
    options = dict(config.backend.options)
    if config.backend.kind == "openai":
        from harness.backends.openai_compat import OpenAICompatibleBackend

        options.setdefault("model", config.model.removeprefix("openai:"))
        return OpenAICompatibleBackend(**options)
    from harness.backends.local import LocalBackend

    return LocalBackend(loaded or config.model, **options)


__all__ = ["Backend", "make_backend"]
