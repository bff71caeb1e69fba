"""Generate through the cache: look up every request, generate only the misses, store successes.

Misses are generated in chunks and stored as each chunk finishes, so an interrupted run
resumes from the cache.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from tqdm import tqdm

from harness.backends.base import Backend
from harness.cache import GenerationCache, cache_key
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
    missing = [i for i, g in enumerate(results) if g is None]
    with tqdm(total=len(missing), desc="generating", unit="gen", disable=not progress or not missing) as bar:
        for start in range(0, len(missing), chunk_size):
            chunk = missing[start : start + chunk_size]
            generations = backend.generate([requests[i] for i in chunk], decoding)
            for index, generation in zip(chunk, generations, strict=True):
                results[index] = generation
            if cache is not None and mode != "off":
                cache.put_many((keys[i], g) for i, g in zip(chunk, generations, strict=True))
            bar.update(len(chunk))
    return [g for g in results if g is not None]
