"""Generate through the cache: look up every request, generate only the misses, store successes.

Misses are ordered by adapter, sample, variant and prompt length (longest first) before they
are cut into chunks, so each backend batch holds prompts of one variant (which share a prefix
the local backend computes once) and of similar length, and pads little; results
come back in the order of the requests. Each chunk is stored as it finishes, so an
interrupted run resumes from the cache. With ``decoding.stop_at_json_end`` every backend's
output is trimmed after its first complete JSON value (harness.eval.jsonstop).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Literal

from tqdm import tqdm

from harness.eval.backends.base import Backend
from harness.eval.cache import GenerationCache, cache_key
from harness.eval.jsonstop import trim_after_json
from harness.records import Decoding, Generation, GenerationRequest

CacheMode = Literal["use", "refresh", "off"]
"""``use``: read and write; ``refresh``: regenerate and overwrite; ``off``: neither."""


def generate_cached(
    backend: Backend,
    requests: Sequence[GenerationRequest],
    decoding: Decoding,
    cache: GenerationCache | None,
    *,
    mode: CacheMode = "use",
    chunk_size: int = 32,
    progress: bool = True,
) -> list[Generation]:
    """Generations for ``requests`` in order, served from ``cache`` where possible."""
    keys = [cache_key(backend.identity(), backend.adapter_identity(r.adapter), r, decoding) for r in requests]
    hits = cache.get_many(keys) if cache is not None and mode == "use" else {}
    results: list[Generation | None] = [None] * len(requests)
    for index, (request, key) in enumerate(zip(requests, keys, strict=True)):
        if key in hits:
            results[index] = Generation(request.case_id, request.variant, request.sample, cached=True, **hits[key])
    missing = sorted((i for i, g in enumerate(results) if g is None), key=lambda i: _batching_key(requests[i]))
    with tqdm(total=len(missing), desc="generating", unit="gen", disable=not progress or not missing) as bar:
        for start in range(0, len(missing), chunk_size):
            chunk = missing[start : start + chunk_size]
            generations = backend.generate([requests[i] for i in chunk], decoding)
            if decoding.stop_at_json_end:
                generations = [_trimmed(g) for g in generations]
            for index, generation in zip(chunk, generations, strict=True):
                results[index] = generation
            if cache is not None and mode != "off":
                cache.put_many((keys[i], g) for i, g in zip(chunk, generations, strict=True))
            bar.update(len(chunk))
    return [g for g in results if g is not None]


def _batching_key(request: GenerationRequest) -> tuple[str, int, str, int]:
    """Adapter, sample, variant (its prompts share a prefix), then longest prompt first (characters: a close
    proxy for tokens)."""
    length = sum(len(str(m.get("content", ""))) for m in request.messages)
    return (request.adapter or "", request.sample, request.variant, -length)


def _trimmed(generation: Generation) -> Generation:
    if generation.text is None:
        return generation
    return dataclasses.replace(generation, text=trim_after_json(generation.text))
