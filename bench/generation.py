"""Generation speed on the embedded SmolLM2-135M (CPU here), three figures:

1. overhead: ``LocalBackend.generate`` vs a bare loop of ``model.generate`` over the same
   length-sorted, left-padded batches of the same prompts (target ratio <= 1.10);
2. three variants over one loaded base model vs loading a model per variant;
3. a fully cached rerun of 1,000 cases through ``run_eval`` vs the cold run (target >= 50x
   faster and under 3 s).

    python bench/generation.py [--cases 48] [--cold-cases 1000]

The generation levers (batching by length, batch size, ``stop_at_json_end``) before vs after
on the triage held-out set, with their effect on the triage figures: bench/generation_levers.py.

Last line: ``ratio harness/bare = X.XX``.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # bench.floor importable
from bench.floor import FloorRatio, Shape, generation_floor_s, generation_work, header, peaks  # noqa: E402
from harness.config.eval_config import load_eval_config  # noqa: E402
from harness.eval.backends.local import LocalBackend  # noqa: E402
from harness.eval.cases import load_cases  # noqa: E402
from harness.eval.runner import EvalOptions, run_eval  # noqa: E402
from harness.eval.variants import Variant  # noqa: E402
from harness.models import DEFAULT_MODEL, load_model  # noqa: E402
from harness.records import Decoding  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "suites/triage/harness.yaml"


def bare_loop(model, tokenizer, prompts: list[str], batch_size: int, decoding: Decoding) -> float:
    order = sorted(range(len(prompts)), key=lambda i: len(prompts[i]), reverse=True)
    started = time.perf_counter()
    for start in range(0, len(order), batch_size):
        batch = [prompts[i] for i in order[start : start + batch_size]]
        encoded = tokenizer(batch, return_tensors="pt", padding=True, add_special_tokens=False)
        with torch.inference_mode():
            model.generate(**encoded, max_new_tokens=decoding.max_new_tokens, do_sample=False, temperature=None,
                           top_p=None, top_k=None, pad_token_id=tokenizer.pad_token_id, eos_token_id=tokenizer.eos_token_id)
    return time.perf_counter() - started


def overhead(n: int, decoding: Decoding) -> float:
    config = load_eval_config(CONFIG)
    cases = load_cases(config.cases, config.task)[:n]
    requests = Variant(config.variants["prompt-only"]).requests(cases)
    backend = LocalBackend(DEFAULT_MODEL, batch_size=8, device="cpu")
    prompts = [backend.render(r) for r in requests]
    backend.generate(requests[:8], decoding)  # warm-up
    times = {"harness": [], "bare": []}
    for _ in range(2):
        started = time.perf_counter()
        generations = backend.generate(requests, decoding)
        times["harness"].append(time.perf_counter() - started)
        times["bare"].append(bare_loop(backend.model, backend.tokenizer, prompts, 8, decoding))
    harness, bare = min(times["harness"]), min(times["bare"])
    print(f"overhead: {n} cases, max_new_tokens {decoding.max_new_tokens}: harness {harness:.1f} s, bare generate loop "
          f"{bare:.1f} s")
    # the same prompts, greedy: the bare loop does the harness's work (its rows stop at EOS alike)
    prompt = sum(g.prompt_tokens or 0 for g in generations)
    new = sum(g.completion_tokens or 0 for g in generations)
    floor = generation_floor_s(Shape.of(backend.model), prompt, new, 8, peaks())  # measured once, by main
    work = generation_work(prompt, new, 8, "fp32", len(requests))
    print(FloorRatio("generation, bare model.generate loop", bare, floor, work).line())
    print(FloorRatio("generation, LocalBackend", harness, floor, work).line())
    return harness / bare


def one_model_vs_one_per_variant(n: int, decoding: Decoding) -> None:
    config = load_eval_config(CONFIG)
    cases = load_cases(config.cases, config.task)[:n]
    variants = [Variant(config.variants[name]) for name in ("prompt-only", "rag")]
    requests = [v.requests(cases) for v in variants] + [variants[0].requests(cases)]  # 3 base-model variants
    started = time.perf_counter()
    shared = LocalBackend(DEFAULT_MODEL, device="cpu")
    for batch in requests:
        shared.generate(batch, decoding)
    one = time.perf_counter() - started
    started = time.perf_counter()
    for batch in requests:
        LocalBackend(load_model(DEFAULT_MODEL, device="cpu"), device="cpu").generate(batch, decoding)
    per_variant = time.perf_counter() - started
    print(f"3 variants x {n} cases: one base model {one:.1f} s, a model load per variant {per_variant:.1f} s "
          f"(ratio {per_variant / one:.2f}; model loads 1 vs 3)")


def cached_rerun(n: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        cases_file = Path(tmp) / "cases.jsonl"
        heldout = (ROOT / "suites/triage/data/triage.jsonl").read_text().splitlines()
        lines = []
        for i in range(n):  # distinct cases: the triage messages with a ticket number
            example = json.loads(heldout[i % len(heldout)])
            example["messages"][1]["content"] += f" (ticket {i})"
            lines.append(json.dumps(example))
        cases_file.write_text("\n".join(lines) + "\n")
        config_file = Path(tmp) / "harness.yaml"
        config_file.write_text(f"task: bench\ncases: {cases_file}\ndecoding: {{max_new_tokens: 8}}\n"
                               "backend: {kind: local, batch_size: 16}\nvariants:\n  prompt-only: {kind: prompt}\n")
        config = load_eval_config(config_file)
        options = EvalOptions(runs_dir=Path(tmp) / "runs", cache_path=Path(tmp) / "cache.sqlite", progress=False,
                              chunk_size=64)
        started = time.perf_counter()
        run_eval(config, options)
        cold = time.perf_counter() - started
        started = time.perf_counter()
        rerun = run_eval(config, options)
        warm = time.perf_counter() - started
        assert all(r.generation.cached for r in rerun.results)
    print(f"{n} cases: cold run {cold:.1f} s, fully cached rerun {warm:.2f} s ({cold / warm:.0f}x faster)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=48)
    parser.add_argument("--cold-cases", type=int, default=1000)
    args = parser.parse_args()
    decoding = Decoding(max_new_tokens=24)
    print(f"threads={torch.get_num_threads()} model={DEFAULT_MODEL} device=cpu batch=8 greedy")
    header("fp32")
    cached_rerun(args.cold_cases)
    one_model_vs_one_per_variant(args.cases // 2, decoding)
    ratio = overhead(args.cases, decoding)
    print(f"ratio harness/bare = {ratio:.2f}")


if __name__ == "__main__":
    main()
