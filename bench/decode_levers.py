"""Decode levers against the decode floor: the default dynamic cache vs a static cache (compiled where torch can).

One decode step at batch B must read every weight once and do B x 2 x parameters FLOPs; its floor
on this machine is the larger of (weight bytes / measured read bandwidth) and (FLOPs / measured
matmul rate). This script measures the step three ways on the same model in one run:

- ``dynamic``: ``model.generate`` with the plain ``F.linear`` path;
- ``packed`` (CPU): the same, every large linear layer on MKL-prepacked weights for the batch's row
  count (:mod:`harness.eval.backends.packed`, the local backend's default since 2026-12-05);
- ``static``: ``cache_implementation="static"`` (a preallocated key/value cache; transformers
  compiles the decode step itself on an accelerator);
- ``static+compile``: the static cache with the forward compiled by ``torch.compile`` (CPU only: on
  CUDA transformers already compiles the static-cache step with CUDA graphs, and a second compile
  on top fails with "accessing tensor output of CUDAGraphs that has been overwritten").

Seen on an H200 (``--random --device cuda``, batch 16, 64 new tokens): bf16 dynamic 22.4 ms/step
(354x its 0.063 ms floor), static 2.87 ms/step (45x; 0.999 of tokens as dynamic); fp32 dynamic
30.1 ms, static 9.14 ms (1.000 of tokens). The step is bound by kernel launches, not by the chip.

On a float32 CPU run it first times every linear layer of the model once (one decode step's
matrix products) at 1 row and at the batch's rows: plain ``F.linear``, packed, and bf16 weights (AMX
where the CPU has it; other numerics), beside the fp32 weight-read floor.

Greedy outputs of each lever are compared with ``dynamic`` token by token (the numerics must not
change where the lever does not change them).

    python bench/decode_levers.py [--batch 16] [--new-tokens 64] [--random] [--device cpu|cuda] [--dtype float32|bfloat16]

``--backend`` measures the harness itself instead: ``LocalBackend.generate`` on the triage suite's
held-out cases rendered by its prompt-only variant (the demo's prompts; shared system prompt, batch
``--batch``, the suite's decoding: 32 new tokens, stop at the JSON's end), once per lever
(``plain``: ``packed_weights=False``, the default until 2026-12-05; ``packed``: today's default;
``static``: ``LocalBackend(static_cache=True)``, packed too), alternated over
``--repeats`` rounds, and prints new tokens/s, the ratio of the wall time to the job's floor (its
prompt tokens' prefill FLOPs, the shared prefix once, plus its new tokens' decode steps at full
batches: a lower bound) and how many outputs equal the plain path's. ``--rate-gflops`` and
``--bandwidth-gbs`` take the machine's figures from a quiet ``bench/floor.py`` run instead of
measuring them now (measure them where the machine is quiet; a loaded machine's figures are not
its floor).

    python bench/decode_levers.py --backend [--cases 32] [--batch 16] [--repeats 2] [--rate-gflops 347 --bandwidth-gbs 23.5]

``--random`` builds SmolLM2-135M's architecture from its configuration with random weights (speed
does not depend on the values; nothing is downloaded), for machines without the embedded model.
Last line: ``ratio best decode/floor = X.XX``.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import time
from pathlib import Path
from typing import Any

import torch

from harness.eval.backends.packed import WeightPacks, packed_linears

# SmolLM2-135M-Instruct's shape, as its config.json gives it
SMOLLM2_135M = {"hidden_size": 576, "intermediate_size": 1536, "num_hidden_layers": 30, "num_attention_heads": 9,
                "num_key_value_heads": 3, "vocab_size": 49152, "max_position_embeddings": 8192, "rms_norm_eps": 1e-5,
                "rope_theta": 100000.0, "tie_word_embeddings": True, "bos_token_id": 1, "eos_token_id": 2,
                "pad_token_id": 2}


def machine_line(device: str) -> str:
    if device == "cuda":
        return f"{torch.cuda.get_device_name()}; torch {torch.__version__}"
    model = platform.processor()
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    return f"{model}; {torch.get_num_threads()} threads; torch {torch.__version__}; load {os.getloadavg()[0]:.1f}"


def sync(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()


def timed(device: str, work: Any, repeats: int = 3) -> float:
    work()
    sync(device)
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        work()
        sync(device)
        best = min(best, time.perf_counter() - started)
    return best


def machine_limits(device: str, dtype: torch.dtype) -> tuple[float, float]:
    """(matmul FLOP/s at ``dtype``, read bandwidth bytes/s), each the best of a few runs."""
    n = 8192 if device == "cuda" else 2048
    a, b = torch.randn(n, n, dtype=dtype, device=device), torch.randn(n, n, dtype=dtype, device=device)
    rate = 2 * n**3 / timed(device, lambda: torch.mm(a, b), 5)
    x = torch.ones((2 if device == "cuda" else 1) << 28, dtype=torch.float32, device=device)
    bandwidth = x.numel() * 4 / timed(device, lambda: x.sum(), 5)
    return rate, bandwidth


def load(random: bool, device: str, dtype: torch.dtype) -> tuple[Any, Any]:
    from transformers import AutoModelForCausalLM, LlamaConfig

    if random:
        torch.manual_seed(0)
        model = AutoModelForCausalLM.from_config(LlamaConfig(**SMOLLM2_135M), dtype=dtype)
        return model.to(device).eval(), None
    from harness.models import DEFAULT_MODEL, load_model

    loaded = load_model(DEFAULT_MODEL, device=device, dtype=dtype)
    return loaded.model.eval(), loaded.tokenizer


def prompt_ids(tokenizer: Any, batch: int, device: str) -> dict[str, torch.Tensor]:
    if tokenizer is None:  # random model: random token ids of a typical triage prompt length
        generator = torch.Generator().manual_seed(0)
        ids = torch.randint(3, SMOLLM2_135M["vocab_size"], (batch, 180), generator=generator)
        return {"input_ids": ids.to(device), "attention_mask": torch.ones_like(ids).to(device)}
    texts = [f"Classify this support ticket as JSON. Ticket {i}: the export to CSV fails after the update." for i in range(batch)]
    tokenizer.padding_side = "left"
    return dict(tokenizer(texts, return_tensors="pt", padding=True).to(device))


def linear_layers(model: Any, rows: int, weight_bytes: int, bandwidth: float) -> None:
    """Where a CPU decode step's time goes: every linear layer once at ``rows`` rows (and at 1), plain, packed, bf16."""
    layers = [m for m in model.modules() if type(m) is torch.nn.Linear]
    packs = WeightPacks()
    bf16 = [(layer.weight.detach().to(torch.bfloat16), layer.in_features) for layer in layers]
    read_floor = weight_bytes / bandwidth
    for count in sorted({1, rows}):
        inputs = {width: torch.randn(count, 1, width) for width in {layer.in_features for layer in layers}}
        with torch.inference_mode():
            plain = timed("cpu", lambda inputs=inputs: [layer(inputs[layer.in_features]) for layer in layers])
            with packed_linears(model, count, packs):
                packed = timed("cpu", lambda inputs=inputs: [layer(inputs[layer.in_features]) for layer in layers])
            halves = {width: x.to(torch.bfloat16) for width, x in inputs.items()}
            half = timed("cpu", lambda halves=halves: [torch.nn.functional.linear(halves[width], w) for w, width in bf16])
        print(f"linear layers at {count:2} rows: plain {plain * 1e3:6.1f} ms, packed {packed * 1e3:6.1f} ms, "
              f"bf16 {half * 1e3:6.1f} ms (other numerics); fp32 weight-read floor {read_floor * 1e3:.1f} ms")


def backend_levers(args: argparse.Namespace, rate: float, bandwidth: float) -> None:
    """The harness's own decode (``LocalBackend.generate``) per lever on the demo's triage prompts."""
    from harness.config.eval_config import load_eval_config
    from harness.eval.backends.local import LocalBackend, shared_prefix
    from harness.eval.cases import load_cases
    from harness.eval.variants import Variant
    from harness.models import DEFAULT_MODEL, load_model

    root = Path(__file__).resolve().parents[1]
    config = load_eval_config(root / "suites/triage/harness.yaml")
    requests = Variant(config.variants["prompt-only"]).requests(load_cases(config.cases, config.task)[: args.cases])
    loaded = load_model(DEFAULT_MODEL, device="cpu", dtype=torch.float32)
    backends = {"plain": LocalBackend(loaded, batch_size=args.batch, device="cpu", packed_weights=False),
                "packed": LocalBackend(loaded, batch_size=args.batch, device="cpu"),
                "static": LocalBackend(loaded, batch_size=args.batch, device="cpu", static_cache=True)}
    linears = [m.weight for m in loaded.model.modules() if isinstance(m, torch.nn.Linear)]
    params, weight_bytes = sum(w.numel() for w in linears), sum(w.numel() * w.element_size() for w in linears)
    ids = backends["plain"]._token_ids([backends["plain"].render(r) for r in requests])
    prefix = len(shared_prefix(ids))
    prompt_tokens = prefix + sum(len(row) - prefix for row in ids)
    step_floor = max(weight_bytes / bandwidth, args.batch * 2 * params / rate)
    print(f"{len(requests)} triage prompt-only prompts, {prompt_tokens} prompt tokens to compute (shared prefix "
          f"{prefix} once), batch {args.batch}, {config.decoding.max_new_tokens} new tokens at most, stop at JSON end; "
          f"decode floor {step_floor * 1e3:.1f} ms/step")
    best: dict[str, float] = {}
    outputs: dict[str, list[str | None]] = {}
    new_tokens = 0
    for round_ in range(args.repeats):
        for lever, backend in backends.items():
            started = time.perf_counter()
            generations = backend.generate(requests, config.decoding)
            wall = time.perf_counter() - started
            assert all(g.error is None for g in generations), [g.error for g in generations if g.error][:1]
            new_tokens = sum(g.completion_tokens or 0 for g in generations)
            outputs[lever] = [g.text for g in generations]
            best[lever] = min(best.get(lever, float("inf")), wall)
            print(f"round {round_ + 1} {lever:8} {wall:7.1f} s  {new_tokens / wall:6.1f} new tokens/s  "
                  f"load {os.getloadavg()[0]:.1f}", flush=True)
    floor = prompt_tokens * 2 * params / rate + new_tokens / args.batch * step_floor
    for lever, wall in best.items():
        same = sum(a == b for a, b in zip(outputs[lever], outputs["plain"], strict=True))
        print(f"{lever:8} best {wall:7.1f} s  {new_tokens / wall:6.1f} new tokens/s  ratio to floor "
              f"{wall / floor:5.2f}  ({same}/{len(requests)} outputs as plain)")
    print(f"ratio best decode/floor = {min(best.values()) / floor:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--new-tokens", type=int, default=64)
    parser.add_argument("--random", action="store_true")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--dtype", default="float32", choices=["float32", "bfloat16"])
    parser.add_argument("--levers", default=None, help="comma-separated (default: all that apply to the device)")
    parser.add_argument("--backend", action="store_true", help="measure LocalBackend.generate on the triage prompts")
    parser.add_argument("--cases", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--rate-gflops", type=float, default=None, help="matmul rate from a quiet bench/floor.py run")
    parser.add_argument("--bandwidth-gbs", type=float, default=None, help="read bandwidth from a quiet bench/floor.py run")
    args = parser.parse_args()
    dtype = getattr(torch, args.dtype)
    print(f"machine: {machine_line(args.device)}")
    if args.rate_gflops and args.bandwidth_gbs:
        rate, bandwidth = args.rate_gflops * 1e9, args.bandwidth_gbs * 1e9
        print(f"matmul {args.dtype}: {rate / 1e12:.3f} TFLOP/s; read bandwidth {bandwidth / 1e9:.1f} GB/s "
              "(given, not measured now)")
    else:
        rate, bandwidth = machine_limits(args.device, dtype)
        print(f"matmul {args.dtype}: {rate / 1e12:.3f} TFLOP/s; read bandwidth {bandwidth / 1e9:.1f} GB/s")
    if args.backend:
        backend_levers(args, rate, bandwidth)
        return
    model, tokenizer = load(args.random, args.device, dtype)
    linears = [m.weight for m in model.modules() if isinstance(m, torch.nn.Linear)]
    params, weight_bytes = sum(w.numel() for w in linears), sum(w.numel() * w.element_size() for w in linears)
    floor = max(weight_bytes / bandwidth, args.batch * 2 * params / rate)
    print(f"model: {params / 1e6:.0f} M matmul parameters, {weight_bytes / 1e6:.0f} MB per step; "
          f"decode floor at batch {args.batch}: {floor * 1e3:.3f} ms/step")
    if args.device == "cpu" and args.dtype == "float32":
        linear_layers(model, args.batch, weight_bytes, bandwidth)
    inputs = prompt_ids(tokenizer, args.batch, args.device)
    common = {"do_sample": False, "pad_token_id": SMOLLM2_135M["pad_token_id"], "eos_token_id": None}
    reference = None
    best = float("inf")
    levers = args.levers or ("dynamic,static" if args.device == "cuda" else "dynamic,packed,static,static+compile")
    packs = WeightPacks()
    for lever in levers.split(","):
        kwargs = dict(common)
        packing = packed_linears(model, args.batch, packs) if lever == "packed" else contextlib.nullcontext()
        if lever.startswith("static"):
            kwargs["cache_implementation"] = "static"
        if lever == "static+compile":
            model.forward = torch.compile(model.forward, mode="reduce-overhead" if args.device == "cuda" else None)
        with torch.inference_mode(), packing:
            def run(n: int, kwargs: dict[str, Any] = kwargs) -> torch.Tensor:
                return model.generate(**inputs, max_new_tokens=n, min_new_tokens=n, **kwargs)

            full = timed(args.device, lambda: run(args.new_tokens))
            first = timed(args.device, lambda: run(1))
            out = run(args.new_tokens)
        step = (full - first) / (args.new_tokens - 1)
        same = "reference" if reference is None else f"{(out == reference).float().mean().item():.3f} of tokens as dynamic"
        reference = out if reference is None else reference
        best = min(best, step)
        print(f"{lever:15} {step * 1e3:8.3f} ms/step  {args.batch / step:8.0f} new tokens/s  "
              f"ratio to floor {step / floor:6.2f}  ({same})")
    print(f"ratio best decode/floor = {best / floor:.2f}")


if __name__ == "__main__":
    main()
