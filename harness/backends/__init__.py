"""Generation backends behind one batch-shaped protocol (:class:`Backend`; :class:`AdapterBackend` adds adapters)."""

from __future__ import annotations

from harness.backends.base import AdapterBackend, AttachesAdapters, Backend
from harness.evalconfig import EvalConfig


def make_backend(config: EvalConfig) -> Backend:
    """The backend a config asks for (models load lazily, on first use)."""
    options = dict(config.backend.options)
    if config.backend.kind == "openai":
        from harness.backends.openai_compat import OpenAICompatibleBackend

        options.setdefault("model", config.model.removeprefix("openai:"))
        return OpenAICompatibleBackend(**options)
    from harness.backends.local import LocalBackend

    return LocalBackend(config.model, **options)


__all__ = ["AdapterBackend", "AttachesAdapters", "Backend", "make_backend"]
