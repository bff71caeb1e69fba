"""Candidate adapters on a serving engine: load, evaluate under its own name, unload (against the engine stub)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.config.eval_config import load_eval_config
from harness.errors import ConfigError
from harness.eval.backends.local import LocalBackend
from harness.eval.backends.openai_compat import OpenAICompatibleBackend
from harness.eval.cache import cache_key
from harness.eval.runner import EvalOptions, run_eval
from harness.fileio import sha256_file
from harness.records import Decoding, GenerationRequest
from tests.lora_engine_stub import lora_engine
from tests.tiny import write_triage_file

pytestmark = pytest.mark.slow

DECODING = Decoding(max_new_tokens=6)
TEXTS = ["printer on fire", "refund my invoice", "the export crashed"]


def requests(adapter: str | None) -> list[GenerationRequest]:
    return [GenerationRequest(f"c{i}", adapter or "base", ({"role": "user", "content": t},), adapter=adapter)
            for i, t in enumerate(TEXTS)]


def texts(backend, adapter: str | None) -> list[str | None]:
    generations = backend.generate(requests(adapter), DECODING)
    assert all(g.error is None for g in generations), [g.error for g in generations]
    return [g.text for g in generations]


def test_candidate_is_loaded_answered_under_its_own_name_and_unloaded(tiny_checkpoint, tiny_adapters):
    local = LocalBackend(str(tiny_checkpoint), batch_size=1, device="cpu")
    local.add_adapter("cand", tiny_adapters["a"])
    with lora_engine(tiny_checkpoint) as engine:
        backend = OpenAICompatibleBackend(base_url=engine.base_url, model=engine.model_name, concurrency=2)
        backend.add_adapter("cand", tiny_adapters["a"], lazy=True)
        assert engine.events == []  # lazy: nothing sent before the first request that needs it
        base, cand = texts(backend, None), texts(backend, "cand")
        served = backend.adapter_identity("cand")["served_as"]
        assert engine.events.count(("load_lora_adapter", served)) == 1 and served in engine.served
        assert engine.events.count(("chat/completions", served)) == len(TEXTS)
        texts(backend, "cand")  # a second batch reuses the loaded adapter
        assert engine.events.count(("load_lora_adapter", served)) == 1
        backend.close()
        assert engine.events[-1] == ("unload_lora_adapter", served) and engine.served == {}
    assert cand == texts(local, "cand") and base == texts(local, None)  # the engine really ran the adapter's bytes
    assert cand != base


def test_the_adapter_hash_is_in_the_identity_and_the_cache_key(tiny_checkpoint, tiny_adapters):
    with lora_engine(tiny_checkpoint) as engine:
        one, two = (OpenAICompatibleBackend(base_url=engine.base_url, model=engine.model_name) for _ in range(2))
        one.add_adapter("cand", tiny_adapters["a"])  # eager: loaded now
        two.add_adapter("cand", tiny_adapters["b"])  # same name, other bytes
        ids = one.adapter_identity("cand"), two.adapter_identity("cand")
        assert ids[0]["sha256"] == sha256_file(Path(tiny_adapters["a"]) / "adapter_model.safetensors")
        assert ids[0]["served_as"] != ids[1]["served_as"] and len(engine.served) == 2
        [request] = requests("cand")[:1]
        keys = {cache_key(b.identity(), b.adapter_identity("cand"), request, DECODING) for b in (one, two)}
        assert len(keys) == 2
        assert texts(one, "cand") != texts(two, "cand")
        for backend in (one, two):
            backend.close()
        assert engine.served == {}


def test_an_adapter_left_loaded_by_an_interrupted_run_is_reused(tiny_checkpoint, tiny_adapters):
    with lora_engine(tiny_checkpoint) as engine:
        first = OpenAICompatibleBackend(base_url=engine.base_url, model=engine.model_name)
        first.add_adapter("cand", tiny_adapters["a"])  # never closed: still loaded on the engine
        second = OpenAICompatibleBackend(base_url=engine.base_url, model=engine.model_name)
        second.add_adapter("cand", tiny_adapters["a"])  # the engine answers 400 "already loaded": same name, same bytes
        assert texts(second, "cand") == texts(first, "cand")


def test_an_engine_without_dynamic_lora_says_how_to_serve_the_adapter(tiny_checkpoint, tiny_adapters):
    with lora_engine(tiny_checkpoint, lora=False) as engine:
        backend = OpenAICompatibleBackend(base_url=engine.base_url, model=engine.model_name)
        backend.add_adapter("cand", tiny_adapters["a"], lazy=True)
        with pytest.raises(ConfigError) as raised:
            backend.generate(requests("cand"), DECODING)
    message = str(raised.value)
    assert "HTTP 404" in message and "load_lora_adapter" in message
    assert "VLLM_ALLOW_RUNTIME_LORA_UPDATING=True" in message and "--enable-lora" in message
    served = backend.adapter_identity("cand")["served_as"]
    assert f"--lora-modules {served}={Path(tiny_adapters['a']).resolve()}" in message
    assert f"model: openai:{served}" in message


CONFIG = """\
task: triage
model: openai:tiny-base
backend: {{kind: openai, base_url: "{url}", concurrency: 2}}
cases: ./heldout.jsonl
decoding: {{max_new_tokens: 4}}
variants:
  prompt-only: {{kind: prompt, system: "Reply with JSON."}}
  fine-tuned: {{kind: adapter, adapter: {adapter}}}
"""


def test_an_eval_run_attaches_the_candidate_to_the_engine(tmp_path, tiny_checkpoint, tiny_adapters):
    write_triage_file(tmp_path / "heldout.jsonl", 4, offset=700)
    with lora_engine(tiny_checkpoint) as engine:
        (tmp_path / "harness.yaml").write_text(CONFIG.format(url=engine.base_url, adapter=tiny_adapters["a"]))
        run = run_eval(load_eval_config(tmp_path / "harness.yaml"),
                       EvalOptions(runs_dir=tmp_path / "runs", cache_path=tmp_path / "cache.sqlite", progress=False))
        loads = [name for route, name in engine.events if route == "load_lora_adapter"]
    assert all(r.generation.error is None for r in run.results) and len(run.results) == 8
    manifest = json.loads((run.path / "manifest.json").read_text())
    adapter = manifest["variants"]["fine-tuned"]["adapter"]
    assert adapter["sha256"] == sha256_file(Path(tiny_adapters["a"]) / "adapter_model.safetensors")
    assert loads == [adapter["served_as"]]
