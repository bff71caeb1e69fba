"""Batching by length: misses are ordered by adapter, variant and prompt length across chunks, results keep request order."""

from __future__ import annotations

import pytest

from harness.eval.backends.local import LocalBackend
from harness.eval.generation import generate_cached
from harness.records import Decoding, GenerationRequest

pytestmark = pytest.mark.slow

GREEDY = Decoding(max_new_tokens=5)
WORDS = ["invoice", "refund", "export", "login", "crash", "chart", "sync", "token"]


def request(i: int, adapter: str | None = None) -> GenerationRequest:
    text = " ".join(WORDS[(i * 3 + k) % len(WORDS)] for k in range(1 + (i * 5) % 11))
    return GenerationRequest(str(i), adapter or "base", ({"role": "user", "content": text},), adapter)


def test_chunks_hold_similar_lengths_and_results_keep_request_order(tiny_checkpoint, tiny_adapters):
    backend = LocalBackend(str(tiny_checkpoint), batch_size=2, device="cpu")
    backend.add_adapter("a", tiny_adapters["a"])
    calls: list[list[GenerationRequest]] = []
    generate = backend.generate

    def spy(requests, decoding):  # the real backend, with its calls recorded
        calls.append(list(requests))
        return generate(requests, decoding)

    backend.generate = spy  # type: ignore[method-assign]
    requests = [request(i, adapter) for i in range(9) for adapter in (None, "a")]
    out = generate_cached(backend, requests, GREEDY, None, chunk_size=4, progress=False)
    assert [(g.case_id, g.variant) for g in out] == [(r.case_id, r.variant) for r in requests]
    flat = [r for call in calls for r in call]
    lengths = [len(r.messages[0]["content"]) for r in flat]
    assert [r.adapter or "" for r in flat] == sorted(r.adapter or "" for r in flat)  # one adapter per chunk run
    for adapter in ("", "a"):
        mine = [n for n, r in zip(lengths, flat, strict=True) if (r.adapter or "") == adapter]
        assert mine == sorted(mine, reverse=True)  # longest first across all chunks, not only inside one
    single = [generate([r], GREEDY)[0].text for r in requests]
    assert [g.text for g in out] == single  # sorted, batched, padded: the same greedy outputs as one at a time


def test_each_variant_runs_together_so_its_shared_prefix_is_computed_once(tiny_checkpoint):
    backend = LocalBackend(str(tiny_checkpoint), batch_size=2, device="cpu")
    calls: list[list[GenerationRequest]] = []
    generate = backend.generate

    def spy(requests, decoding):
        calls.append(list(requests))
        return generate(requests, decoding)

    backend.generate = spy  # type: ignore[method-assign]
    requests = [GenerationRequest(str(i), variant, r.messages, None) for i in range(8) for variant in ("rag", "prompt")
                for r in [request(i)]]
    generate_cached(backend, requests, GREEDY, None, chunk_size=4, progress=False)
    order = [r.variant for call in calls for r in call]
    assert order == ["prompt"] * 8 + ["rag"] * 8  # interleaved requests, one variant at a time
