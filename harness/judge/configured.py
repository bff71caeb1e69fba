"""The judge a configuration names: rubric file, model, and (optionally) an OpenAI-compatible endpoint.

Building it loads no weights (the local backend loads on the first uncached call), so the
gate can compute the judge identity it must find a calibration for cheaply.
"""

from __future__ import annotations

import logging
from pathlib import Path

from harness.eval.backends.base import Backend
from harness.eval.cache import GenerationCache
from harness.judge.judge import Judge
from harness.judge.rubric import load_rubric
from harness.models import DEFAULT_MODEL

logger = logging.getLogger(__name__)


def configured_judge(rubric: str | Path, model: str = DEFAULT_MODEL, *, base_url: str | None = None,
                     api_key_env: str = "OPENAI_API_KEY", batch_size: int = 8, cache: GenerationCache | None = None,
                     progress: bool = False) -> Judge:
    """A :class:`Judge` for a rubric file on the local model or an OpenAI-compatible endpoint.

    Args:
        rubric: the rubric YAML.
        model: a local model reference, or the server's model name with ``base_url``.
        base_url: the endpoint's API root; None for the local backend.
        api_key_env: environment variable holding the endpoint's key.
        batch_size: local backend: prompts per generate call.
        cache: the generation cache (None: no caching).
        progress: show a progress bar while judging.
    """
    backend: Backend
    if base_url:
        from harness.eval.backends.openai_compat import OpenAICompatibleBackend

        backend = OpenAICompatibleBackend(base_url=base_url, model=model, api_key_env=api_key_env)
    else:
        from harness.eval.backends.local import LocalBackend

        backend = LocalBackend(model, batch_size=batch_size)
    return Judge(backend, load_rubric(rubric), cache, progress=progress)
