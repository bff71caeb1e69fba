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
