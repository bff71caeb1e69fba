"""Batch size for self-distilled replay replies (embedded SmolLM2-135M, CPU, greedy, no cache).

The replay prompts are short and their replies long (``replay.max_new_tokens``, 128 in the
house-style config): decoding dominates, and one decode step costs nearly the same at 16 rows
as at 64, so wider batches finish sooner even though every row waits for the longest reply.
Every reply is compared with the batch-16 run's (greedy: any difference is floating-point order).

    python bench/replay_batch.py [--n 64] [--max-new-tokens 128] [--batch-sizes 16,32,64]

Last line: ``ratio batch 64/batch 16 = X.XX`` (wall time; target < 1).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # bench.floor importable
from bench.floor import FloorRatio, Shape, generation_floor_s, generation_work, header  # noqa: E402
from harness.eval.backends.local import LocalBackend  # noqa: E402
from harness.eval.generation import generate_cached  # noqa: E402
from harness.models import DEFAULT_MODEL  # noqa: E402
from harness.records import Decoding, GenerationRequest  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=64)
    parser.add_argument("--max-new-tokens", type=int, default=128)
    parser.add_argument("--batch-sizes", default="16,32,64", help="the first is the reference, the last the ratio's")
    args = parser.parse_args()
    lines = (ROOT / "harness/resources/replay_prompts.jsonl").read_text().splitlines()[: args.n]
    requests = [GenerationRequest(str(i), "replay", ({"role": "user", "content": json.loads(line)["prompt"]},))
                for i, line in enumerate(lines)]
    backend = LocalBackend(DEFAULT_MODEL)
    backend.generate(requests[:1], Decoding(max_new_tokens=2))  # load and warm up
    peaks, shape = header("fp32"), Shape.of(backend.model)
    floors: list[FloorRatio] = []
    decoding = Decoding(max_new_tokens=args.max_new_tokens)
    walls: dict[int, float] = {}
    reference: list[str | None] = []
    for size in [int(s) for s in args.batch_sizes.split(",")]:
        backend.batch_size = size
        started = time.perf_counter()
        generations = generate_cached(backend, requests, decoding, None, chunk_size=max(32, size), progress=False)
        walls[size] = time.perf_counter() - started
        texts = [g.text for g in generations]
        reference = reference or texts
        tokens = sum(g.completion_tokens or 0 for g in generations)
        prompt = sum(g.prompt_tokens or 0 for g in generations)
        floors.append(FloorRatio(f"generation, batch {size}", walls[size], generation_floor_s(shape, prompt, tokens, size, peaks),
                                 generation_work(prompt, tokens, size, "fp32", len(generations))))
        print(f"batch {size:3d}: {walls[size]:6.1f} s, {tokens / walls[size]:5.0f} new tokens/s, {floors[-1].ratio:.2f}x "
              f"the floor; replies differing from the first batch size's: "
              f"{sum(a != b for a, b in zip(reference, texts, strict=True))} of {len(texts)}", flush=True)
    for floor in floors:
        print(floor.line())
    first, last = next(iter(walls)), list(walls)[-1]
    print(f"ratio batch {last}/batch {first} = {walls[last] / walls[first]:.2f}")


if __name__ == "__main__":
    main()
