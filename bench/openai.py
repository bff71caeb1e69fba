"""OpenAI-compatible backend throughput against a local stub with a fixed latency.

200 requests at concurrency 16 to a stub that answers each after 50 ms: the ideal wall
time is 200 / 16 x 50 ms = 625 ms. The stub (``tests/stub_openai_server.py``, threaded)
runs in its own process, as a real server would, so its CPU does not share this process's
GIL. One warm-up call (16 requests) first opens the connections and loads the ``openai``
client's lazily imported modules; its time is printed too.

    python bench/openai.py [--requests 200] [--concurrency 16] [--latency-ms 50]

Last line: ``ratio wall/ideal = X.XX`` (target <= 1.3).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

# Run as a script, sys.path[0] is bench/, where this file would shadow the ``openai`` package.
ROOT = Path(__file__).resolve().parents[1]
sys.path[0] = str(ROOT)

from harness.eval.backends.openai_compat import OpenAICompatibleBackend  # noqa: E402
from harness.records import Decoding, GenerationRequest  # noqa: E402


def requests(count: int, tag: str) -> list[GenerationRequest]:
    return [GenerationRequest(f"{tag}-{i}", "bench", ({"role": "user", "content": f"ticket {i}"},)) for i in range(count)]


def timed(backend: OpenAICompatibleBackend, batch: list[GenerationRequest]) -> tuple[float, int]:
    started = time.perf_counter()
    generations = backend.generate(batch, Decoding(max_new_tokens=16))
    return time.perf_counter() - started, sum(g.error is not None for g in generations)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--latency-ms", type=float, default=50.0)
    args = parser.parse_args()
    stub = subprocess.Popen([sys.executable, "-m", "tests.stub_openai_server", "--latency-ms", str(args.latency_ms)],
                            cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        url = stub.stdout.readline().strip() if stub.stdout else ""
        with OpenAICompatibleBackend(base_url=url, model="stub", concurrency=args.concurrency) as backend:
            warm_up, warm_errors = timed(backend, requests(args.concurrency, "warm"))
            wall, errors = timed(backend, requests(args.requests, "case"))
        with urllib.request.urlopen(url.removesuffix("/v1") + "/stats", timeout=5) as response:
            stats = json.load(response)
    finally:
        stub.terminate()
        stub.wait(timeout=10)
    ideal = args.requests / args.concurrency * args.latency_ms / 1000
    print(f"warm-up: {args.concurrency} requests in {warm_up * 1000:.0f} ms, errors {warm_errors}")
    print(f"requests {args.requests}, concurrency {args.concurrency}, latency {args.latency_ms:g} ms, errors {errors}, "
          f"server saw max {stats['max_in_flight']} in flight")
    print(f"wall {wall * 1000:.0f} ms, ideal {ideal * 1000:.0f} ms")
    print("floor: n/a (no model stage)")  # bench/floor.py: a stub server with a fixed latency: no model
    print(f"ratio wall/ideal = {wall / ideal:.2f}")


if __name__ == "__main__":
    main()
