"""Local backend vs a real vLLM CPU server: new tokens per second and identical outputs, base model and adapter.

The triage held-out cases (``suites/triage/harness.yaml``'s prompt-only rendering for the base model,
the training rendering for the adapter), greedy, ``max_new_tokens`` and ``stop_at_json_end`` as that
config sets them, through ``LocalBackend`` (peft attaches the adapter) and through
``OpenAICompatibleBackend`` on vLLM (the adapter loaded with ``/v1/load_lora_adapter``), one after
the other on the same machine. The vLLM server runs from the virtualenv ``.ci/vllm_env.sh`` builds
(``tests/vllm_server.py`` starts it) unless ``--base-url`` names a running one.

    python bench/engine.py [--adapter candidates/triage-...] [--limit N] [--base-url http://127.0.0.1:PORT/v1]

Without ``--adapter``: the newest triage candidate in the registry folder, else one trained here as the engine tests
train theirs (``harness train``, r=8, 1 epoch on 96 triage examples). ``--base-url`` defaults to ``$HARNESS_VLLM_URL``.
Without the vLLM virtualenv and without a URL the last line is ``skip: ...`` (``bench/run_all.py``'s skipped row).

New tokens are each backend's own count (the local backend stops at the JSON's end, vLLM at
``max_tokens``; texts are trimmed the same way before they are compared). Last line:
``ratio identical outputs engine/local (adapter) = X.XX`` (the share ``run_all`` holds to its target), after
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

from tests.vllm_server import MODEL_NAME, VllmServer, missing_reason, train_triage_candidate  # noqa: E402  (stdlib only)

if __name__ == "__main__" and "--base-url" not in sys.argv and not os.environ.get("HARNESS_VLLM_URL") and missing_reason():
    print(f"skip: {missing_reason()}")  # before torch and the harness are imported: the skipped row costs a second
    sys.exit(0)

from bench.floor import FloorRatio, Shape, generation_floor_s, generation_work, header  # noqa: E402
from harness.config.eval_config import AdapterVariant, LocalOptions, load_eval_config  # noqa: E402
from harness.eval.backends.base import Backend  # noqa: E402
from harness.eval.backends.local import LocalBackend  # noqa: E402
from harness.eval.backends.openai_compat import OpenAICompatibleBackend  # noqa: E402
from harness.eval.cases import load_cases  # noqa: E402
from harness.eval.generation import generate_cached  # noqa: E402
from harness.eval.variants import Variant  # noqa: E402
from harness.models import resolve_model  # noqa: E402
from harness.records import Decoding, Generation, GenerationRequest  # noqa: E402


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
    parser.add_argument("--adapter", default=None, help="a triage candidate folder (default: the newest triage "
                        "candidate in the registry, else one trained here)")
    parser.add_argument("--config", default=str(ROOT / "suites/triage/harness.yaml"))
    parser.add_argument("--limit", type=int, default=None, help="first N held-out cases (default: all)")
    parser.add_argument("--base-url", default=os.environ.get("HARNESS_VLLM_URL") or None,
                        help="a running vLLM server's /v1 URL (default: $HARNESS_VLLM_URL, else start one)")
    parser.add_argument("--concurrency", type=int, default=8, help="engine requests in flight")
    args = parser.parse_args()
    if not args.base_url and missing_reason():
        print(f"skip: {missing_reason()}")
        return
    workdir = tempfile.TemporaryDirectory()
    args.adapter = args.adapter or default_candidate(Path(workdir.name))
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
    peaks, shape = header("fp32"), Shape.of(local.model)  # the machine both ran on; the floor at fp32 weights
    for name, out, seconds, batch in (("engine", engine_out, engine_s, args.concurrency),
                                      ("local", local_out, local_s, options.batch_size)):
        prompt, new = sum(g.prompt_tokens or 0 for g in out), sum(g.completion_tokens or 0 for g in out)
        print(FloorRatio(f"generation (adapter), {name}", seconds, generation_floor_s(shape, prompt, new, batch, peaks),
                         generation_work(prompt, new, batch, "fp32", len(out))).line())
    print(f"ratio engine/local tokens/s (adapter) = {rows[-1][2] / rows[-1][1]:.2f}")
    print(f"ratio identical outputs engine/local (adapter) = {rows[-1][3]:.2f}")
    workdir.cleanup()


def default_candidate(folder: Path) -> str:
    """The newest triage candidate in the registry folder, else one trained in ``folder`` (the engine tests' recipe)."""
    from harness.gate.ladder.run import latest_candidate

    latest = latest_candidate("triage")
    if latest is not None:
        print(f"adapter: {latest.path} (the newest triage candidate in the registry)")
        return str(latest.path)
    started = time.perf_counter()
    candidate = train_triage_candidate(folder / "triage")
    print(f"adapter: trained {candidate.name} in {time.perf_counter() - started:.0f} s (r=8, 1 epoch, 96 triage examples)")
    return str(candidate)


if __name__ == "__main__":
    main()
