"""Generation backends behind one batch-shaped protocol (:class:`Backend`; :class:`AdapterBackend` adds adapters)."""

from __future__ import annotations

from harness.config.eval_config import EvalConfig, backend_error
from harness.errors import ConfigError
from harness.eval.backends.base import AdapterBackend, AttachesAdapters, Backend


def make_backend(config: EvalConfig) -> Backend:
    """The backend a config asks for (models load lazily, on first use).

    Raises:
        ConfigError: a setting the backend refuses, at the config's ``backend`` line.
    """
    try:
        return _construct(config)
    except ConfigError as exc:
        raise backend_error(config, exc) from None


def _construct(config: EvalConfig) -> Backend:
    options = dict(config.backend.options)
    if config.backend.kind == "openai":
        from harness.eval.backends.openai_compat import OpenAICompatibleBackend

        options.setdefault("model", config.model.removeprefix("openai:"))
        return OpenAICompatibleBackend(**options)
    from harness.eval.backends.local import LocalBackend

    return LocalBackend(config.model, **options)


__all__ = ["AdapterBackend", "AttachesAdapters", "Backend", "make_backend"]
