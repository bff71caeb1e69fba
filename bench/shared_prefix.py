"""Shared-prefix reuse and batch size in the local backend (embedded SmolLM2-135M, CPU).

Three request sets the demo generates, ``--n`` prompts each (no generation cache):

- judge: the house-style judge's absolute prompts (rubric + two worked examples shared);
- triage prompt-only: the held-out messages under the triage system prompt and two examples;
- general: the gate's general-capability items (only the chat template's default system prompt).

before: the prefix off (every row left-padded and prefilled in full), batch 8, as the demo ran
until this change. after: the prefix on at batch 8, then at ``--batch-sizes``. Every output is
compared with the before run's (greedy: any difference is floating-point order, counted).

    python bench/shared_prefix.py [--n 48] [--batch-sizes 16,32]

Last line: ``ratio after/before = X.XX`` (wall time of all three sets at batch 8; target < 1).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # bench.floor importable
import harness.eval.backends.local as local  # noqa: E402
from bench.floor import FloorRatio, Shape, generation_floor_s, header  # noqa: E402
from harness.config.eval_config import load_eval_config  # noqa: E402
from harness.eval.backends.local import LocalBackend  # noqa: E402
from harness.eval.cases import load_cases  # noqa: E402
from harness.eval.variants import Variant  # noqa: E402
from harness.judge.judge import JUDGE_DECODING  # noqa: E402
from harness.judge.prompts import absolute_messages  # noqa: E402
from harness.judge.rubric import load_rubric  # noqa: E402
from harness.models import DEFAULT_MODEL  # noqa: E402
from harness.records import Decoding, GenerationRequest  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
JUDGE = ROOT / "suites/house_style/judge"


def request_sets(n: int) -> dict[str, tuple[list[GenerationRequest], Decoding]]:
    rubric = load_rubric(JUDGE / "rubric.yaml")
    replies = [json.loads(line) for line in (JUDGE / "replies.jsonl").read_text().splitlines()[:n]]
    judge = [GenerationRequest(r["id"], "judge", absolute_messages(rubric, r["input"], r["output"]), None, 0)
             for r in replies]
    triage = load_eval_config(ROOT / "suites/triage/harness.yaml")
    cases = load_cases(triage.cases, triage.task)[:n]
    items = [json.loads(line) for line in (ROOT / "harness/resources/general/items.jsonl").read_text().splitlines()[:n]]
    general = [GenerationRequest(i["id"], "general", ({"role": "user", "content": i["prompt"]},), None, 0) for i in items]
    return {"judge": (judge, JUDGE_DECODING),
            "triage prompt-only": (Variant(triage.variants["prompt-only"]).requests(cases), triage.decoding),
            "general": (general, Decoding(max_new_tokens=48))}


def run(backend: LocalBackend, requests: list[GenerationRequest], decoding: Decoding, *, prefix: bool,
        batch_size: int) -> tuple[float, list[str | None], float, int]:
    """Seconds, texts, mean prompt tokens and new tokens of one pass over ``requests``."""
    local.MIN_SHARED_PREFIX = 16 if prefix else 10**9
    backend.batch_size = batch_size
    started = time.perf_counter()
    generations = backend.generate(requests, decoding)
    prompt = sum(g.prompt_tokens or 0 for g in generations) / len(generations)
    return time.perf_counter() - started, [g.text for g in generations], prompt, sum(g.completion_tokens or 0
                                                                                     for g in generations)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=48)
    parser.add_argument("--batch-sizes", default="16,32", help="after-runs at these batch sizes too; empty to skip")
    args = parser.parse_args()
    backend = LocalBackend(DEFAULT_MODEL, device="cpu")
    backend.generate(request_sets(1)["general"][0], Decoding(max_new_tokens=2))  # load and warm up
    print(f"threads={torch.get_num_threads()}; {args.n} prompts per set", flush=True)
    peaks, shape = header("fp32"), Shape.of(backend.model)
    totals = {"before": 0.0, "after": 0.0}
    floors = {"before": 0.0, "after": 0.0}
    work = {"prompts": 0, "prefill": 0, "new": 0}
    for name, (requests, decoding) in request_sets(args.n).items():
        before, reference, prompt, new = run(backend, requests, decoding, prefix=False, batch_size=8)
        ids = [backend._token_ids([backend.render(r)])[0] for r in requests]
        shared = len(local.shared_prefix(ids))
        # the floor computes the shared prefix once: the least prefill this set needs
        prefill = round(prompt * len(requests)) - shared * (len(requests) - 1)

        def floor(size: int, new: int = new, prefill: int = prefill) -> float:
            return generation_floor_s(shape, prefill, new, size, peaks)

        print(f"{name}: {len(requests)} prompts, {prompt:.0f} prompt tokens on average, {shared} shared", flush=True)
        print(f"  before (prefix off, batch 8): {before:6.1f} s; {before / floor(8):.2f}x the floor", flush=True)
        totals["before"] += before
        floors["before"] += floor(8)
        work = {"prompts": work["prompts"] + len(requests), "prefill": work["prefill"] + prefill, "new": work["new"] + new}
        for size in [8] + [int(s) for s in args.batch_sizes.split(",") if s]:
            seconds, texts, _, _ = run(backend, requests, decoding, prefix=True, batch_size=size)
            differ = sum(a != b for a, b in zip(reference, texts, strict=True))
            print(f"  after (prefix on, batch {size:2d}): {seconds:6.1f} s = {before / seconds:.2f}x; "
                  f"{seconds / floor(size):.2f}x the floor; outputs differing from before: {differ} of {len(texts)}",
                  flush=True)
            if size == 8:
                totals["after"] += seconds
                floors["after"] += floor(8)
    print(f"all three sets at batch 8: before {totals['before']:.1f} s, after {totals['after']:.1f} s")
    what = (f"{work['prompts']} prompts, {work['prefill']:,} prompt tokens (each set's shared prefix once) + "
            f"{work['new']:,} new tokens, batch 8, fp32")
    print(FloorRatio("generation, three sets, prefix off", totals["before"], floors["before"], what).line())
    print(FloorRatio("generation, three sets, prefix on", totals["after"], floors["after"], what).line())
    print(f"ratio after/before = {totals['after'] / totals['before']:.2f}")


if __name__ == "__main__":
    main()
