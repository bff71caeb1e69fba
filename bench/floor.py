"""Each stage of the main job against its physical floor on this machine, measured side by side in one run.

First the machine: its dense matrix-multiply rate (fp32, and bf16 where the CPU has native bf16)
and its memory read bandwidth. From the embedded model's shape (SmolLM2-135M: its config) it
derives the floor of each stage, then measures the stage on the real model and prints the ratio:

- prefill: 2 x (parameters used per token) FLOPs per prompt token / the matmul rate;
- decode, per step at batch B: the larger of (weight bytes read once per step / bandwidth) and
  (B x 2 x parameters FLOPs / the matmul rate);
- LoRA training: about 4 x parameters FLOPs per token (forward, and a backward that computes
  activation gradients through the frozen weights but no weight gradients for them) / the rate.

A ratio of 1 is the floor; an absolute time holds on this machine only, a ratio measured in one
run carries across machines far better (say which machine, always).

    python bench/floor.py [--batch 16] [--new-tokens 64] [--threads N]

Last line: ``ratio decode/floor = X.XX`` (the stage furthest from its floor today).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]


def machine_line() -> str:
    """CPU model, the flags that decide the kernels, cores and threads, torch version."""
    model, flags = platform.processor(), set()
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
        if line.startswith("flags"):
            flags = set(line.split(":", 1)[1].split())
    shown = [f for f in ("avx2", "avx512f", "avx512_bf16", "amx_bf16", "amx_tile") if f in flags]
    return (f"{model}; flags {' '.join(shown) or 'none of avx2/avx512/amx'}; {torch.get_num_threads()} threads; "
            f"torch {torch.__version__}; load average {os.getloadavg()[0]:.1f} (other work on the cores colours every figure)")


def native_bf16() -> bool:
    text = Path("/proc/cpuinfo").read_text()
    return " avx512_bf16" in text or " amx_bf16" in text


def best_of(repeats: int, work: Callable[[], object]) -> float:
    """The fastest of ``repeats`` timed calls (after one warm-up): the machine's capability, not its noise."""
    work()
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return min(times)


def matmul_rate(dtype: torch.dtype, n: int = 2048) -> float:
    """Dense n x n matrix-multiply FLOP/s."""
    a, b = torch.randn(n, n, dtype=dtype), torch.randn(n, n, dtype=dtype)
    return 2 * n**3 / best_of(5, lambda: torch.mm(a, b))


def read_bandwidth(megabytes: int = 1024) -> float:
    """Bytes/s of a reduction over an array far larger than the caches (what a decode step does to the weights)."""
    x = torch.ones(megabytes * 1024 * 1024 // 4, dtype=torch.float32)
    return x.numel() * 4 / best_of(5, lambda: x.sum())


@dataclass(frozen=True)
class Shape:
    """What the floors need of the model: parameters per token and bytes read per decode step."""

    params_per_token: int
    """Matmul parameters a token passes through (every layer's projections and the output layer)."""
    weight_bytes: int
    """Bytes of weights a decode step reads (each weight once, at the model's dtype)."""

    @classmethod
    def of(cls, model: torch.nn.Module) -> Shape:
        """Every ``Linear`` of the model (the output layer included, tied to the embedding or not); the
        embedding lookup itself reads only the batch's rows."""
        linears = [m.weight for m in model.modules() if isinstance(m, torch.nn.Linear)]
        count = sum(w.numel() for w in linears)
        return cls(count, sum(w.numel() * w.element_size() for w in linears))


@dataclass
class Stage:
    name: str
    measured_s: float
    floor_s: float
    note: str

    @property
    def ratio(self) -> float:
        return self.measured_s / self.floor_s


def load() -> tuple[torch.nn.Module, object]:
    from harness.models import DEFAULT_MODEL, load_model

    loaded = load_model(DEFAULT_MODEL, device="cpu")
    return loaded.model.eval(), loaded.tokenizer


def prompts(tokenizer: object, n: int) -> list[str]:
    from harness.config.eval_config import load_eval_config
    from harness.eval.cases import load_cases
    from harness.eval.variants import Variant

    config = load_eval_config(ROOT / "suites/triage/harness.yaml")
    cases = load_cases(config.cases, config.task)[:n]
    requests = Variant(config.variants["prompt-only"]).requests(cases)
    return [tokenizer.apply_chat_template(list(r.messages), tokenize=False, add_generation_prompt=True)  # type: ignore[attr-defined]
            for r in requests]


def measure(batch: int, new_tokens: int, rate: float, bandwidth: float) -> list[Stage]:
    model, tokenizer = load()
    shape = Shape.of(model)
    texts = prompts(tokenizer, batch)
    tokenizer.padding_side = "left"  # type: ignore[attr-defined]
    encoded = tokenizer(texts, return_tensors="pt", padding=True, add_special_tokens=False)  # type: ignore[operator]
    prompt_tokens = int(encoded["attention_mask"].sum())
    with torch.inference_mode():
        prefill = best_of(3, lambda: model(**encoded))
        generate = best_of(2, lambda: model.generate(**encoded, max_new_tokens=new_tokens, min_new_tokens=new_tokens,
                                                     do_sample=False, pad_token_id=tokenizer.pad_token_id))  # type: ignore[attr-defined]
    decode_step = (generate - prefill) / new_tokens
    step_floor = max(shape.weight_bytes / bandwidth, batch * 2 * shape.params_per_token / rate)
    stages = [
        Stage("prefill", prefill, prompt_tokens * 2 * shape.params_per_token / rate,
              f"{prompt_tokens} prompt tokens at batch {batch}"),
        Stage("decode", decode_step, step_floor,
              f"one step at batch {batch}: {shape.weight_bytes / 1e6:.0f} MB of weights, "
              f"{batch * 2 * shape.params_per_token / 1e9:.1f} GFLOP"),
    ]
    stages.append(training_stage(model, tokenizer, texts, rate, shape))
    return stages


def training_stage(model: torch.nn.Module, tokenizer: object, texts: list[str], rate: float, shape: Shape) -> Stage:
    """One LoRA step (r=16 on q/v, fp32) forward + backward over the batch, as the trainer does it."""
    from peft import LoraConfig, get_peft_model

    peft_model = get_peft_model(model, LoraConfig(r=16, lora_alpha=32, target_modules=["q_proj", "v_proj"]))
    peft_model.train()
    encoded = tokenizer(texts[:8], return_tensors="pt", padding=True, add_special_tokens=False)  # type: ignore[operator]
    tokens = int(encoded["attention_mask"].sum())

    def step() -> None:
        out = peft_model(**encoded, labels=encoded["input_ids"])
        out.loss.backward()
        peft_model.zero_grad(set_to_none=True)

    seconds = best_of(3, step)
    return Stage("training", seconds, tokens * 4 * shape.params_per_token / rate, f"{tokens} tokens, LoRA r=16 q/v, batch 8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--new-tokens", type=int, default=64)
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"machine: {machine_line()}")
    fp32 = matmul_rate(torch.float32)
    print(f"matmul fp32: {fp32 / 1e9:.1f} GFLOP/s (2048 x 2048, best of 5)")
    if native_bf16():
        print(f"matmul bf16: {matmul_rate(torch.bfloat16) / 1e9:.1f} GFLOP/s (native bf16)")
    bandwidth = read_bandwidth()
    print(f"memory read: {bandwidth / 1e9:.1f} GB/s (1 GiB reduction, best of 5)")
    stages = measure(args.batch, args.new_tokens, fp32, bandwidth)
    print(f"{'stage':9} {'measured':>10} {'floor':>10} {'ratio':>6}  what")
    for stage in stages:
        print(f"{stage.name:9} {stage.measured_s * 1000:8.1f}ms {stage.floor_s * 1000:8.2f}ms {stage.ratio:6.2f}  {stage.note}")
    worst = max(stages, key=lambda s: s.ratio)
    print(f"median ratio {statistics.median(s.ratio for s in stages):.2f}; furthest: {worst.name}")
    print(f"ratio {worst.name}/floor = {worst.ratio:.2f}")


if __name__ == "__main__":
    main()
