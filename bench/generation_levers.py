"""Generation levers on the triage held-out set (embedded SmolLM2-135M, CPU), before vs after:

- before: the old policy: chunks of 32 requests in request order, batch 8, no JSON stop;
- after: ``generate_cached`` (misses sorted by adapter and prompt length across the call),
  ``--batch-size`` (default 16), ``decoding.stop_at_json_end`` as suites/triage/harness.yaml has it.

Runs alternate (before, after, before, after, ...) so that a busy machine hurts both alike;
the spread of the repeats is printed. Also: throughput of batch 8/16/32 per variant
(``--batch-sizes``), and the triage figures (schema_valid, field_macro_f1) per variant with
the stop off and on, and how many outputs the stop changed (each must equal the full output
trimmed after its JSON value). The fine-tuned variant needs ``--adapter CANDIDATE``; without
one it runs on a stand-in adapter (small random LoRA) for its speed only, figures omitted.

    python bench/generation_levers.py [--cases 155] [--repeats 2] [--adapter candidates/triage-...]

Last line: ``ratio after/before = X.XX`` (wall time of all variants; target < 1).
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # bench.floor importable
from bench.floor import FloorRatio, Shape, generation_floor_s, generation_work, header  # noqa: E402
from harness.config.eval_config import load_eval_config  # noqa: E402
from harness.eval.backends.local import LocalBackend  # noqa: E402
from harness.eval.cases import load_cases  # noqa: E402
from harness.eval.generation import generate_cached  # noqa: E402
from harness.eval.jsonstop import trim_after_json  # noqa: E402
from harness.eval.variants import Variant  # noqa: E402
from harness.models import DEFAULT_MODEL  # noqa: E402
from harness.records import CaseResult, Generation, GenerationRequest  # noqa: E402
from harness.scorers.metrics import field_summary  # noqa: E402
from harness.scorers.scoring import build_scorers, score_results  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
CONFIG = load_eval_config(ROOT / "suites/triage/harness.yaml")
OLD = dataclasses.replace(CONFIG.decoding, stop_at_json_end=False)


def stand_in_adapter(folder: Path) -> Path:
    """A LoRA with small random B weights for the embedded model: realistic shapes, no training."""
    from peft import LoraConfig, get_peft_model

    from harness.models import load_model

    model = get_peft_model(load_model(DEFAULT_MODEL, device="cpu").model,
                           LoraConfig(r=16, lora_alpha=32, target_modules=["q_proj", "v_proj"], task_type="CAUSAL_LM"))
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for name, parameter in model.named_parameters():
            if "lora_B" in name:
                parameter.copy_(torch.randn(parameter.shape, generator=generator) * 0.002)
    model.save_pretrained(str(folder))
    return folder


def before(backend: LocalBackend, requests: list[GenerationRequest]) -> list[Generation]:
    backend.batch_size = 8
    out: list[Generation] = []
    for start in range(0, len(requests), 32):
        out += backend.generate(requests[start : start + 32], OLD)
    return out


def after(backend: LocalBackend, requests: list[GenerationRequest], batch_size: int) -> list[Generation]:
    backend.batch_size = batch_size
    return generate_cached(backend, requests, CONFIG.decoding, None, chunk_size=max(32, batch_size), progress=False)


def timed(action, *args):
    started = time.perf_counter()
    result = action(*args)
    return time.perf_counter() - started, result


def figures(cases, generations: list[Generation]) -> dict[str, tuple[float, float]]:
    by_id = {c.id: c for c in cases}
    results = [CaseResult(by_id[g.case_id], g) for g in generations]
    score_results(results, build_scorers(CONFIG.scoring))
    out = {}
    for variant in dict.fromkeys(g.variant for g in generations):
        items = [r for r in results if r.generation.variant == variant]
        valid = [s.value for r in items for s in r.scores if s.metric == "schema_valid" and s.value is not None]
        out[variant] = (sum(valid) / len(valid), field_summary(items, CONFIG.scoring.fields)["field_macro_f1"])
    return out


def batch_sizes(backend: LocalBackend, per_variant: dict[str, list[GenerationRequest]], sizes: list[int]) -> None:
    for variant, requests in per_variant.items():
        for size in sizes:
            seconds, generations = timed(after, backend, requests, size)
            tokens = sum(g.completion_tokens or 0 for g in generations)
            prompt = sum(g.prompt_tokens or 0 for g in generations) / len(generations)
            print(f"  {variant:12s} batch {size:2d}: {seconds:6.1f} s, {len(requests) / seconds:5.2f} cases/s, "
                  f"{tokens / seconds:6.1f} new tokens/s (prompt {prompt:.0f} tokens)", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=155)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--batch-sizes", default="8,16,32", help="throughput sweep; empty to skip")
    parser.add_argument("--sweep-variants", help="comma-separated variants for the sweep (default: all)")
    parser.add_argument("--adapter", type=Path)
    args = parser.parse_args()
    cases = load_cases(CONFIG.cases, CONFIG.task)[: args.cases]
    backend = LocalBackend(DEFAULT_MODEL, device="cpu")
    peaks = header("fp32")
    with tempfile.TemporaryDirectory() as tmp:
        backend.add_adapter("fine-tuned", args.adapter or stand_in_adapter(Path(tmp) / "stand-in"))
        variants = {n: dataclasses.replace(s, adapter="fine-tuned") if s.kind == "adapter" else s
                    for n, s in CONFIG.variants.items()}
        per_variant = {n: Variant(s).requests(cases) for n, s in variants.items()}
        requests = [r for rs in per_variant.values() for r in rs]
        print(f"threads={torch.get_num_threads()} {len(cases)} cases x {len(per_variant)} variants; "
              f"fine-tuned: {args.adapter or 'stand-in adapter (speed only)'}", flush=True)
        if args.batch_sizes:
            chosen = args.sweep_variants.split(",") if args.sweep_variants else list(per_variant)
            batch_sizes(backend, {n: per_variant[n] for n in chosen}, [int(s) for s in args.batch_sizes.split(",")])
        walls: dict[str, list[float]] = {"before": [], "after": []}
        for _ in range(args.repeats):
            seconds, old = timed(before, backend, requests)
            walls["before"].append(seconds)
            seconds, new = timed(after, backend, requests, args.batch_size)
            walls["after"].append(seconds)
            print(f"  before {walls['before'][-1]:.1f} s, after {walls['after'][-1]:.1f} s", flush=True)
    changed = sum(o.text != n.text for o, n in zip(old, new, strict=True))
    mismatched = sum(trim_after_json(o.text or "") != n.text for o, n in zip(old, new, strict=True))
    print(f"outputs the stop changed: {changed} of {len(new)}; not equal to the full output trimmed: {mismatched}")
    tokens = {k: sum(g.completion_tokens or 0 for g in gs) for k, gs in (("before", old), ("after", new))}
    shape = Shape.of(backend.model)
    for name, generations, batch in (("before", old, 8), ("after", new, args.batch_size)):
        spread = f"{min(walls[name]):.1f}-{max(walls[name]):.1f}"
        print(f"{name}: median {statistics.median(walls[name]):.1f} s (runs {spread} s), {tokens[name]} new tokens")
        prompt = sum(g.prompt_tokens or 0 for g in generations)
        floor = generation_floor_s(shape, prompt, tokens[name], batch, peaks)
        print(FloorRatio(f"generation, {name}", statistics.median(walls[name]), floor,
                         generation_work(prompt, tokens[name], batch, "fp32", len(generations))).line())
    fig_old, fig_new = figures(cases, old), figures(cases, new)
    for variant in fig_old:
        if variant == "fine-tuned" and args.adapter is None:
            continue
        (v0, f0), (v1, f1) = fig_old[variant], fig_new[variant]
        print(f"{variant:12s} schema_valid {v0:.3f} -> {v1:.3f}   field_macro_f1 {f0:.3f} -> {f1:.3f}")
    print(f"ratio after/before = {statistics.median(walls['after']) / statistics.median(walls['before']):.2f}")


if __name__ == "__main__":
    main()
