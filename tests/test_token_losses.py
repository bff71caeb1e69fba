"""Token losses (the forgetting check's and the tone scorer's) do not depend on the batch a text shares."""

from __future__ import annotations

import pytest

from harness.errors import InputError

TEXTS = [
    "The river runs to the sea.",
    "Bread rises with yeast and warmth, and the kitchen smells of it for the rest of the morning.",
    "Tides follow the moon.",
    "A library lends books, music and sometimes tools to anyone who lives in the town and asks for a card.",
    "Snow fell.",
]


@pytest.mark.slow
def test_batched_token_losses_equal_batch_size_one(tiny_checkpoint, tiny_adapters):
    from harness.eval.backends.local import LocalBackend

    backend = LocalBackend(str(tiny_checkpoint), device="cpu")
    backend.add_adapter("a", tiny_adapters["a"])
    for adapter in (None, "a"):
        alone = backend.token_losses(TEXTS, adapter, batch_size=1)
        batched = backend.token_losses(TEXTS, adapter, batch_size=len(TEXTS))
        assert len({round(x, 3) for x in alone}) == len(TEXTS)  # five different texts: five different losses
        assert batched == pytest.approx(alone, abs=1e-5)
    assert backend.tokenizer.padding_side == "left"  # generation's padding is left as it was


@pytest.mark.slow
def test_backend_losses_are_the_shared_functions(tiny_checkpoint):
    from harness.eval.backends.local import LocalBackend
    from harness.models.losses import mean_token_losses

    backend = LocalBackend(str(tiny_checkpoint), device="cpu")
    assert backend.token_losses(TEXTS, None, batch_size=3) == pytest.approx(
        mean_token_losses(backend.model, backend.tokenizer, TEXTS, batch_size=1), abs=1e-5)
    with pytest.raises(InputError, match="under two tokens"):
        backend.token_losses(["Hi"], None)
