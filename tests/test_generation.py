"""The local backend on a tiny random-weight model: batching, padding, adapters, the took-effect check."""

from __future__ import annotations

import pytest

from harness.errors import InputError
from harness.eval.adapters import AdapterHasNoEffect
from harness.eval.backends.local import MIN_SHARED_PREFIX, LocalBackend, shared_prefix
from harness.records import Decoding, GenerationRequest

GREEDY = Decoding(max_new_tokens=6)


def request(text: str, adapter: str | None = None, case: str = "c", sample: int = 0) -> GenerationRequest:
    return GenerationRequest(case, "v", ({"role": "user", "content": text},), adapter, sample)


@pytest.fixture(scope="module")
def backend(tiny_checkpoint, tiny_adapters):
    local = LocalBackend(str(tiny_checkpoint), batch_size=3, device="cpu")
    local.add_adapter("a", tiny_adapters["a"])
    local.add_adapter("b", tiny_adapters["b"])
    return local


PROMPTS = ["hi", "a much longer message about invoices and refunds and a broken export", "medium length one here",
           "x", "another prompt of some length"]


@pytest.mark.slow
def test_batched_left_padded_generation_equals_one_at_a_time(backend):
    batched = backend.generate([request(p, case=str(i)) for i, p in enumerate(PROMPTS)], GREEDY)
    single = [backend.generate([request(p)], GREEDY)[0] for p in PROMPTS]
    assert [g.text for g in batched] == [g.text for g in single]
    assert [g.case_id for g in batched] == [str(i) for i in range(len(PROMPTS))]
    assert backend.tokenizer.padding_side == "left"
    assert all(g.prompt_tokens and g.completion_tokens and g.latency_s is not None for g in batched)
    assert batched[1].prompt_tokens > batched[0].prompt_tokens


SYSTEM = "You sort customer messages for Lumen. Reply with one word: billing, bug or other. " * 3


def with_system(text: str, adapter: str | None = None, case: str = "c", sample: int = 0) -> GenerationRequest:
    return GenerationRequest(case, "v", ({"role": "system", "content": SYSTEM}, {"role": "user", "content": text}),
                             adapter, sample)


def test_shared_prefix_leaves_every_row_a_token_of_its_own():
    assert shared_prefix([[1, 2, 3, 4], [1, 2, 3, 5, 6]]) == [1, 2, 3]
    assert shared_prefix([[1, 2, 3], [1, 2, 3, 4]]) == [1, 2]
    assert shared_prefix([[7, 8], [9]]) == [] and shared_prefix([]) == []


@pytest.mark.parametrize("adapter", [None, "a"])
@pytest.mark.slow
def test_a_shared_system_prompt_is_computed_once_and_changes_no_output(backend, adapter, monkeypatch):
    ids = [backend._token_ids([backend.render(with_system(p))])[0] for p in PROMPTS]
    assert len(shared_prefix(ids)) >= MIN_SHARED_PREFIX  # the batched call below takes the prefix path
    prefix_passes = []
    original = backend._encode
    monkeypatch.setattr(backend, "_encode", lambda model, rows, prefix: (
        prefix_passes.append(prefix.cache is None and bool(prefix.tokens)), original(model, rows, prefix))[1])
    batched = backend.generate([with_system(p, adapter, case=str(i)) for i, p in enumerate(PROMPTS)], GREEDY)
    assert prefix_passes == [True, False]  # 5 prompts at batch size 3: one prefix pass for both batches
    single = [backend.generate([with_system(p, adapter)], GREEDY)[0] for p in PROMPTS]  # alone: no shared prefix
    assert [g.text for g in batched] == [g.text for g in single]
    assert all(g.prompt_tokens == len(row) for g, row in zip(batched, ids, strict=True))


@pytest.mark.slow
def test_adapters_switch_per_request_on_one_base_model(backend):
    mixed = [request(p, adapter) for p in PROMPTS[:3] for adapter in (None, "a", "b")]
    texts = [g.text for g in backend.generate(mixed, GREEDY)]
    base, with_a, with_b = texts[0::3], texts[1::3], texts[2::3]
    assert base != with_a and with_a != with_b
    assert base == [g.text for g in backend.generate([request(p) for p in PROMPTS[:3]], GREEDY)]


@pytest.mark.slow
def test_adapter_that_changes_nothing_is_an_error(tiny_checkpoint, tiny_adapters):
    local = LocalBackend(str(tiny_checkpoint), device="cpu")
    with pytest.raises(AdapterHasNoEffect, match="does not change"):
        local.add_adapter("noop", tiny_adapters["noop"])


@pytest.mark.slow
def test_adapters_load_from_safetensors_only(tiny_checkpoint, tiny_adapters, tmp_path):
    pickled = tmp_path / "pickled"
    pickled.mkdir()
    (pickled / "adapter_config.json").write_text((tiny_adapters["a"] / "adapter_config.json").read_text())
    (pickled / "adapter_model.bin").write_bytes(b"not loaded")
    local = LocalBackend(str(tiny_checkpoint), device="cpu")
    with pytest.raises(InputError, match="adapter_model.safetensors missing"):
        local.add_adapter("p", pickled)


@pytest.mark.slow
def test_unregistered_adapter_is_a_per_request_error(backend):
    [generation] = backend.generate([request("hi", "zzz")], GREEDY)
    assert generation.text is None and "not registered" in generation.error


@pytest.mark.slow
def test_sampling_repeats_differ_and_are_reproducible(backend):
    sampling = Decoding(max_new_tokens=8, temperature=1.5, seed=3)
    first = backend.generate([request("hi", sample=s) for s in range(3)], sampling)
    again = backend.generate([request("hi", sample=s) for s in range(3)], sampling)
    assert [g.text for g in first] == [g.text for g in again]
    assert len({g.text for g in first}) > 1


@pytest.mark.slow
def test_reregistering_a_name_replaces_the_adapter(tiny_checkpoint, tiny_adapters):
    local = LocalBackend(str(tiny_checkpoint), device="cpu")
    reference = LocalBackend(str(tiny_checkpoint), device="cpu")
    reference.add_adapter("b", tiny_adapters["b"])
    local.add_adapter("cand", tiny_adapters["a"])
    with_a = local.generate([request(p, "cand") for p in PROMPTS[:2]], GREEDY)
    local.add_adapter("cand", tiny_adapters["b"])
    with_b = local.generate([request(p, "cand") for p in PROMPTS[:2]], GREEDY)
    expected = reference.generate([request(p, "b") for p in PROMPTS[:2]], GREEDY)
    assert [g.text for g in with_b] == [g.text for g in expected] != [g.text for g in with_a]
