"""Decode levers of the local backend change speed, never greedy outputs."""

from __future__ import annotations

import pytest

from harness.records import Decoding, GenerationRequest

SYSTEM = "You are a support triage bot. Read the message and reply with one JSON object and nothing else."
USERS = ["Refund me now.", "How do I export a report to CSV from the dashboard?", "Login fails.",
         "The app crashes whenever I open the calendar view on my phone.", "Add dark mode please."]


def requests(adapter: str | None) -> list[GenerationRequest]:
    return [GenerationRequest(f"c{i}", "v", ({"role": "system", "content": SYSTEM}, {"role": "user", "content": user}),
                              adapter) for i, user in enumerate(USERS)]


@pytest.mark.slow
@pytest.mark.parametrize("shared_prefix", [True, False])
def test_static_cache_gives_the_dynamic_caches_greedy_outputs(tiny_checkpoint, tiny_adapters, shared_prefix,
                                                               monkeypatch):
    from harness.eval.backends import local
    from harness.eval.backends.local import LocalBackend

    if not shared_prefix:
        monkeypatch.setattr(local, "MIN_SHARED_PREFIX", 10_000)
    decoding = Decoding(max_new_tokens=12)
    outputs = []
    for static in (False, True):
        backend = LocalBackend(str(tiny_checkpoint), batch_size=2, device="cpu", static_cache=static)
        backend.add_adapter("a", tiny_adapters["a"])
        generations = backend.generate(requests(None) + requests("a"), decoding)
        outputs.append([(g.text, g.completion_tokens, g.error) for g in generations])
    dynamic, static = outputs
    assert all(error is None for _, _, error in dynamic) and len({text for text, _, _ in dynamic}) > 2
    assert static == dynamic


def test_packed_weights_give_the_plain_paths_greedy_outputs(tiny_checkpoint, tiny_adapters, monkeypatch):
    import torch

    from harness.eval.backends import packed
    from harness.eval.backends.local import LocalBackend

    assert packed.packing_available() == torch.backends.mkl.is_available()
    monkeypatch.setattr(packed, "MIN_PACKED_DIM", 1)  # the tiny model's matrices are all small: pack them all
    decoding = Decoding(max_new_tokens=12)
    outputs, backends = [], []
    for packed_weights in (False, True):
        backend = LocalBackend(str(tiny_checkpoint), batch_size=2, device="cpu", packed_weights=packed_weights)
        backend.add_adapter("a", tiny_adapters["a"])
        generations = backend.generate(requests(None) + requests("a"), decoding)
        outputs.append([(g.text, g.completion_tokens, g.error) for g in generations])
        backends.append(backend)
    plain, with_packs = outputs
    assert all(error is None for _, _, error in plain) and len({text for text, _, _ in plain}) > 2
    assert with_packs == plain
    linears = [m for m in backends[1].model.modules() if type(m) is torch.nn.Linear]
    assert len(backends[0]._packs) == 0
    if packed.packing_available():  # batches of 2 rows (1 row: F.linear sums in another order, never packed)
        assert 0 < len(backends[1]._packs) <= len(linears)  # a pack whose sums differ on its probe is refused
    assert not any("forward" in vars(m) for m in linears)  # the plain forward is back after each batch


def test_packed_forward_takes_the_plain_path_for_other_row_counts():
    import torch

    from harness.eval.backends import packed

    linear = torch.nn.Linear(576, 192)  # one of SmolLM2-135M's shapes, whose 16-row pack is exact here
    packs = packed.WeightPacks()
    model = torch.nn.Sequential(linear)
    model.device, model.dtype = torch.device("cpu"), torch.float32
    with torch.inference_mode():
        inputs = {rows: torch.randn(rows, 1, 576) for rows in (1, 7, 16, 32)}
        expected = {rows: linear(x) for rows, x in inputs.items()}
        with packed.packed_linears(model, 16, packs):
            got = {rows: linear(x) for rows, x in inputs.items()}
    assert all(torch.equal(got[rows], expected[rows]) for rows in inputs)
    assert len(packs) == (1 if packed.packing_available() else 0)


def test_weight_packs_keep_the_last_two_row_counts():
    import torch

    from harness.eval.backends import packed

    weight = torch.randn(192, 576)
    packs = packed.WeightPacks(max_row_counts=2)
    for rows in (16, 8, 16, 4):
        packs.get(weight, rows)
    assert sorted(key[2] for key in packs._packs) == [4, 16]  # 8 was the least recently used when 4 came


def test_one_row_batches_neither_pack_nor_evict_a_row_count_in_use():
    import torch

    from harness.eval.backends import packed

    weight = torch.randn(192, 576)
    packs = packed.WeightPacks(max_row_counts=2)
    for rows in (16, 8, 1, 4):
        pack = packs.get(weight, rows)
        if rows == 1:
            assert pack is None
    assert sorted(key[2] for key in packs._packs) == [4, 8]  # 1 row packed nothing and counted as no use
