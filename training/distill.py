"""Self-distillation: the base model's own greedy replies to general prompts, through the generation cache.

Generated once per (model, prompt, decoding): a later training run with the same base
model serves them from ``generations.sqlite`` and loads no model for them. Replies that
hit ``max_new_tokens`` are dropped (training on a cut-off reply would teach the model to
stop mid-sentence), and so are empty ones.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

from harness.training.config import TrainConfig
from harness.training.replay import VARIANT, ReplayPrompt, replies_hash

from harness.errors import InputError
from harness.records import Decoding, Example, Generation, GenerationRequest

log = logging.getLogger(__name__)
REPLAY_BATCH = 64
"""Rows per generate call for the base model's replay replies."""


def self_distill(config: TrainConfig, prompts: Sequence[ReplayPrompt]) -> tuple[list[Example], dict[str, Any]]:
    """Chat examples ``user: prompt / assistant: base model's reply`` and their provenance.

    Raises:
        InputError: every reply failed or was dropped (nothing to replay).
    """
    from harness.eval.backends.local import LocalBackend
    from harness.eval.cache import GenerationCache
    from harness.eval.generation import generate_cached
    from harness.models.cache import cache_dir

    if not prompts:
        return [], {}
    decoding = Decoding(max_new_tokens=config.replay.max_new_tokens, temperature=0.0)
    # Short prompts, long replies: decoding dominates and costs about the same per step at 16 rows or 64
    # (bench/replay_batch.py: 64 rows 1.7x faster than 16, the same replies).
    backend = LocalBackend(config.base_model, batch_size=REPLAY_BATCH)
    requests = [GenerationRequest(f"{p.path}:{p.line}", VARIANT, ({"role": "user", "content": p.prompt},))
                for p in prompts]
    cache = GenerationCache(cache_dir() / "generations.sqlite")
    try:
        generations = generate_cached(backend, requests, decoding, cache, chunk_size=REPLAY_BATCH)
    finally:
        cache.close()
    keep_cut = config.replay.loss == "kl"  # KL follows the base at every position: an unfinished reply still teaches
    examples = [_example(p, g) for p, g in zip(prompts, generations, strict=True) if _usable(g, decoding, keep_cut)]
    dropped = len(prompts) - len(examples)
    if not examples:
        raise InputError(f"none of the {len(prompts)} self-distilled replies is usable (failed, empty or, with "
                         f"replay.loss text, cut at "
                         f"replay.max_new_tokens={decoding.max_new_tokens}); raise replay.max_new_tokens",
                         path=config.source, code="replay-empty")
    if dropped:
        log.info("self-distillation: dropped %d of %d replies (failed, empty or cut at max_new_tokens)", dropped, len(prompts))
    return examples, {
        "model": backend.identity(),
        "decoding": asdict(decoding),
        "generated": sum(1 for g in generations if not g.cached),
        "from_cache": sum(1 for g in generations if g.cached),
        "dropped": dropped,
        "examples": len(examples),
        "replies_sha256": replies_hash(examples),
        "model_loaded": backend.is_loaded,
    }


def _usable(generation: Generation, decoding: Decoding, keep_cut: bool = False) -> bool:
    """A reply to train on: not failed, not empty, and (for cross-entropy) finished before ``max_new_tokens``.

    A reply cut at the limit would teach cross-entropy to end a turn mid-sentence; with ``replay.loss: kl``
    every position is held to the base model's own distribution, the end included, so it is kept.
    """
    if generation.error is not None or not (generation.text or "").strip():
        return False
    return keep_cut or (generation.completion_tokens or 0) < decoding.max_new_tokens


def _example(prompt: ReplayPrompt, generation: Generation) -> Example:
    messages = ({"role": "user", "content": prompt.prompt}, {"role": "assistant", "content": generation.text or ""})
    return Example(messages, prompt.path, prompt.line)
