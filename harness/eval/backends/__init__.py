"""Generation backends behind one batch-shaped protocol (:class:`Backend`; :class:`AdapterBackend` adds adapters)."""

from __future__ import annotations

from harness.config.eval_config import EvalConfig, OpenAIOptions, backend_error
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
    """The backend of the config's kind, built from its typed options (the schema's defaults are the ones that apply)."""
    options = config.backend.options
    if isinstance(options, OpenAIOptions):
        from harness.eval.backends.openai_compat import OpenAICompatibleBackend

        return OpenAICompatibleBackend.from_options(options, config.model.removeprefix("openai:"))
    from harness.eval.backends.local import LocalBackend

    return LocalBackend.from_options(config.model, options)


__all__ = ["AdapterBackend", "AttachesAdapters", "Backend", "make_backend"]
