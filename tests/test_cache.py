"""The generation cache: keys cover everything that changes an output; errors are never cached;
several processes can write one file at once."""

from __future__ import annotations

import dataclasses
import multiprocessing

import pytest

from harness.eval.cache import GenerationCache, cache_key
from harness.records import Decoding, Generation, GenerationRequest

BACKEND = {"spec": "m", "weights_sha256": "abc"}
REQUEST = GenerationRequest("c1", "v", ({"role": "user", "content": "hi"},), None, 0)


def test_key_changes_with_everything_that_changes_the_output():
    base = cache_key(BACKEND, None, REQUEST, Decoding())
    variants = [
        cache_key({**BACKEND, "weights_sha256": "abd"}, None, REQUEST, Decoding()),
        cache_key({**BACKEND, "kind": "openai"}, None, REQUEST, Decoding()),
        cache_key(BACKEND, {"sha256": "x"}, REQUEST, Decoding()),
        cache_key(BACKEND, None, dataclasses.replace(REQUEST, messages=({"role": "user", "content": "hi!"},)), Decoding()),
        cache_key(BACKEND, None, dataclasses.replace(REQUEST, sample=1), Decoding()),
        cache_key(BACKEND, None, REQUEST, Decoding(max_new_tokens=65)),
        cache_key(BACKEND, None, REQUEST, Decoding(temperature=0.7)),
    ]
    assert len({base, *variants}) == len(variants) + 1
    # the variant name and case id do not change the output: the same prompt is shared
    assert cache_key(BACKEND, None, dataclasses.replace(REQUEST, variant="w", case_id="c2"), Decoding()) == base


def test_roundtrip_and_errors_are_never_cached(tmp_path):
    cache = GenerationCache(tmp_path / "g.sqlite")
    ok = Generation("c1", "v", 0, text="out", prompt_tokens=3, completion_tokens=2, latency_s=0.1)
    failed = Generation("c2", "v", 0, error="HTTP 500")
    assert cache.put_many([("k1", ok), ("k2", failed)]) == 1
    assert cache.get_many(["k1", "k2", "k3"]) == {
        "k1": {"text": "out", "prompt_tokens": 3, "completion_tokens": 2, "latency_s": 0.1}}
    assert (tmp_path / "g.sqlite").exists() and len(cache) == 1
    mode = cache._db.execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"


def _writer(path: str, worker: int, count: int) -> None:
    cache = GenerationCache(path)
    for i in range(count):
        cache.put_many([(f"{worker}-{i}", Generation("c", "v", 0, text=f"text {worker} {i}"))])
        cache.get_many([f"{1 - worker}-{i}"])
    cache.close()


def test_two_processes_share_one_cache_file(tmp_path):
    path = str(tmp_path / "shared.sqlite")
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_writer, args=(path, w, 200)) for w in (0, 1)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=120)
        assert w.exitcode == 0
    cache = GenerationCache(path)
    assert len(cache) == 400
    assert cache.get_many(["0-199", "1-0"])["1-0"]["text"] == "text 1 0"


@pytest.mark.slow
def test_token_losses_are_cached_per_model_adapter_and_text(tmp_path, tiny_checkpoint, tiny_adapters):
    from harness.eval.backends.local import LocalBackend

    backend = LocalBackend(str(tiny_checkpoint), device="cpu")
    backend.add_adapter("a", tiny_adapters["a"])
    cache = GenerationCache(tmp_path / "g.sqlite")
    texts = ["The river runs to the sea.", "Bread rises with yeast and warmth."]
    base = cache.losses(backend, texts, None)
    tuned = cache.losses(backend, texts, "a")
    assert base == backend.token_losses(texts, None) and base != tuned
    backend.token_losses = None  # a cached call must not compute again
    assert cache.losses(backend, texts, None) == base and cache.losses(backend, texts[:1], "a") == tuned[:1]


@pytest.mark.slow
def test_editing_adapter_config_in_place_is_a_cache_miss(tmp_path, tiny_checkpoint, tiny_adapters):
    """lora_alpha changes the outputs; the cache must not serve the outputs of the old config."""
    import shutil

    from harness.eval.backends.local import LocalBackend
    from harness.eval.generation import generate_cached

    adapter = shutil.copytree(tiny_adapters["a"], tmp_path / "adapter")
    requests = [GenerationRequest(f"c{i}", "v", ({"role": "user", "content": f"ticket {i}"},), "cand", 0) for i in range(3)]
    decoding = Decoding(max_new_tokens=6)

    def run(mode="use"):
        local = LocalBackend(str(tiny_checkpoint), device="cpu")
        local.add_adapter("cand", adapter, lazy=True)
        cache = GenerationCache(tmp_path / "g.sqlite")
        try:
            return generate_cached(local, requests, decoding, cache, mode=mode, progress=False)
        finally:
            cache.close()

    first = run()
    assert [g.cached for g in run()] == [True] * 3  # the same adapter is served from the cache
    config = adapter / "adapter_config.json"
    text = config.read_text()
    assert '"lora_alpha": 8,' in text
    config.write_text(text.replace('"lora_alpha": 8,', '"lora_alpha": 9,'))  # same size: only the bytes differ
    edited = run()
    assert [g.cached for g in edited] == [False] * 3
    assert [g.text for g in edited] == [g.text for g in run(mode="off")]
    assert first[0].error is None
