"""Local backend vs a real vLLM CPU server: new tokens per second and identical outputs, base model and adapter.

The triage held-out cases (``suites/triage/harness.yaml``'s prompt-only rendering for the base model,
the training rendering for the adapter), greedy, ``max_new_tokens`` and ``stop_at_json_end`` as that
config sets them, through ``LocalBackend`` (peft attaches the adapter) and through
``OpenAICompatibleBackend`` on vLLM (the adapter loaded with ``/v1/load_lora_adapter``), one after
the other on the same machine. The vLLM server runs from the virtualenv ``.ci/vllm_env.sh`` builds
(``tests/vllm_server.py`` starts it) unless ``--base-url`` names a running one.

    python bench/engine.py --adapter candidates/triage-... [--limit N] [--base-url http://127.0.0.1:PORT/v1]

New tokens are each backend's own count (the local backend stops at the JSON's end, vLLM at
``max_tokens``; texts are trimmed the same way before they are compared). Last line:
``ratio engine/local tokens/s (adapter) = X.XX``.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[0] = str(ROOT)  # run as a script: tests/ (the server helper) importable, bench/openai.py not shadowing openai

from harness.config.eval_config import AdapterVariant, LocalOptions, load_eval_config  # noqa: E402
from harness.eval.backends.base import Backend  # noqa: E402
from harness.eval.backends.local import LocalBackend  # noqa: E402
from harness.eval.backends.openai_compat import OpenAICompatibleBackend  # noqa: E402
from harness.eval.cases import load_cases  # noqa: E402
from harness.eval.generation import generate_cached  # noqa: E402
from harness.eval.variants import Variant  # noqa: E402
from harness.models import resolve_model  # noqa: E402
from harness.records import Decoding, Generation, GenerationRequest  # noqa: E402
from tests.vllm_server import MODEL_NAME, VllmServer  # noqa: E402


@contextlib.contextmanager
def engine_url(base_url: str | None) -> Iterator[tuple[str, float | None]]:
    """``base_url``, or a server started for this run (with its seconds to health)."""
    if base_url:
        yield base_url, None
        return
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp, VllmServer.start(resolve_model(MODEL_NAME).location,
                                                                Path(tmp) / "vllm.log") as server:
        yield server.base_url, round(time.perf_counter() - started, 1)


def timed(backend: Backend, requests: list[GenerationRequest], decoding: Decoding) -> tuple[list[Generation], float]:
    started = time.perf_counter()
    generations = generate_cached(backend, requests, decoding, None, mode="off", progress=False)
    return generations, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--adapter", required=True, help="a triage candidate folder (harness train)")
    parser.add_argument("--config", default=str(ROOT / "suites/triage/harness.yaml"))
    parser.add_argument("--limit", type=int, default=None, help="first N held-out cases (default: all)")
    parser.add_argument("--base-url", default=None, help="a running vLLM server's /v1 URL (default: start one)")
    parser.add_argument("--concurrency", type=int, default=8, help="engine requests in flight")
    args = parser.parse_args()
    config = load_eval_config(args.config)
    cases = load_cases(config.cases, config.task)[: args.limit]
    base = Variant(config.variants["prompt-only"])
    adapter = Variant(AdapterVariant(name="fine-tuned", adapter=args.adapter))
    decoding = config.decoding
    options = config.backend.options if isinstance(config.backend.options, LocalOptions) else LocalOptions()
    local = LocalBackend.from_options(resolve_model(MODEL_NAME).location, options)
    local.add_adapter("fine-tuned", args.adapter)
    print(f"{len(cases)} triage held-out cases, greedy, max_new_tokens {decoding.max_new_tokens}, stop_at_json_end "
          f"{decoding.stop_at_json_end}; {os.cpu_count()} cores, shared by both sides (run one after the other)")
    rows = []
    with engine_url(args.base_url) as (url, startup_s):
        if startup_s is not None:
            print(f"vLLM started in {startup_s} s")
        engine = OpenAICompatibleBackend(base_url=url, model=MODEL_NAME, concurrency=args.concurrency, timeout_s=600)
        engine.add_adapter("fine-tuned", args.adapter)
        try:
            for label, variant in (("base", base), ("adapter", adapter)):
                requests = variant.requests(cases)
                local_out, local_s = timed(local, requests, decoding)
                engine_out, engine_s = timed(engine, requests, decoding)
                errors = sum(g.error is not None for g in (*local_out, *engine_out))
                local_tokens = sum(g.completion_tokens or 0 for g in local_out)
                engine_tokens = sum(g.completion_tokens or 0 for g in engine_out)
                same = sum(a.text == b.text for a, b in zip(local_out, engine_out, strict=True)) / len(requests)
                rows.append((label, local_tokens / local_s, engine_tokens / engine_s, same, local_s, engine_s, errors))
        finally:
            engine.close()
    print(f"{'':8} {'local tok/s':>11} {'engine tok/s':>12} {'ratio':>6} {'identical':>9} {'local s':>8} "
          f"{'engine s':>8} {'errors':>6}")
    for label, local_rate, engine_rate, same, local_s, engine_s, errors in rows:
        print(f"{label:8} {local_rate:11.1f} {engine_rate:12.1f} {engine_rate / local_rate:6.2f} {same:9.1%} "
              f"{local_s:8.1f} {engine_s:8.1f} {errors:6d}")
    print(f"ratio engine/local tokens/s (adapter) = {rows[-1][2] / rows[-1][1]:.2f}")


if __name__ == "__main__":
    main()
