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

The same floors as a small API for the other benchmarks and the demo's per-step table
(``bench/steps.py``): :func:`peaks` (this machine's rates, measured once per process and recorded
in ``<harness cache>/floor/peaks.json`` beside the machine line), :class:`Shape` (from a loaded
model or, without loading weights, from a checkpoint's config), the floors
:func:`prefill_floor_s`, :func:`training_floor_s`, :func:`decode_step_floor_s` and
:func:`generation_floor_s`, and :class:`FloorRatio`, whose ``line()`` every benchmark prints beside
its time: ``floor: <stage>: <measured> s, floor <floor> s: <ratio>x (<work>)``. A benchmark that
times no model stage prints ``floor: n/a (no model stage)``. ``bench/run_all.py`` reads the last
``floor:`` line of each benchmark into its table.
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import platform
import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
FLAGS = ("avx2", "avx512f", "avx512_bf16", "amx_bf16", "amx_tile")
"""The CPU flags that decide which matmul kernels run (shown in every machine line)."""


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


# ---------------------------------------------------------------------------------------------- the API


@dataclass(frozen=True)
class Machine:
    """What a figure was measured on: the machine line every benchmark prints."""

    cpu: str
    """The CPU's model name (``/proc/cpuinfo``)."""
    flags: tuple[str, ...]
    """Those of :data:`FLAGS` the CPU has."""
    cores: int
    """Logical CPUs the OS offers (``os.cpu_count()``)."""
    threads: int
    """torch's intra-op threads."""
    torch: str
    """torch's version (its kernels are part of the machine)."""

    @classmethod
    def here(cls) -> Machine:
        cpu, flags = platform.processor() or "unknown CPU", set()
        for line in Path("/proc/cpuinfo").read_text().splitlines() if Path("/proc/cpuinfo").exists() else []:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
            elif line.startswith("flags"):
                flags = set(line.split(":", 1)[1].split())
        return cls(cpu, tuple(f for f in FLAGS if f in flags), os.cpu_count() or 1, torch.get_num_threads(), torch.__version__)

    @property
    def native_bf16(self) -> bool:
        return "avx512_bf16" in self.flags or "amx_bf16" in self.flags

    @property
    def key(self) -> str:
        """What identifies the machine in the peaks file (load aside)."""
        return f"{self.cpu}|{','.join(self.flags)}|{self.cores}|{self.threads}|{self.torch}"

    def line(self, precision: str) -> str:
        """``machine: CPU; flags ...; N cores, T threads; PRECISION; torch V; load average L``."""
        return (f"machine: {self.cpu}; flags {' '.join(self.flags) or 'none of avx2/avx512/amx'}; {self.cores} cores, "
                f"{self.threads} threads; {precision}; torch {self.torch}; load average {os.getloadavg()[0]:.1f}")


@dataclass(frozen=True)
class Peaks:
    """This machine's rates, the denominators of every floor."""

    machine: Machine
    fp32_flops: float
    """Dense 2048 x 2048 fp32 matmul, FLOP/s (best of 5)."""
    bf16_flops: float | None
    """The same in bf16 where the CPU has native bf16; None elsewhere (emulated bf16 is no floor)."""
    read_bytes_per_s: float
    """A reduction over 1 GiB, bytes/s (best of 5): what a decode step does to the weights."""
    measured_at: str
    """UTC time of the measurement."""
    load_average: float
    """The 1-minute load average when measured (other work on the cores lowers every rate)."""

    def flops(self, precision: str) -> float:
        """The matmul rate a stage at ``precision`` ('fp32' or 'bf16') can reach: bf16 only where native."""
        if precision == "bf16" and self.bf16_flops is not None:
            return max(self.bf16_flops, self.fp32_flops)
        return self.fp32_flops

    def line(self) -> str:
        bf16 = f", bf16 {self.bf16_flops / 1e9:,.0f}" if self.bf16_flops is not None else ", bf16 not native"
        return (f"peaks: matmul fp32 {self.fp32_flops / 1e9:,.0f}{bf16} GFLOP/s; memory read "
                f"{self.read_bytes_per_s / 1e9:.1f} GB/s (measured {self.measured_at}, load average {self.load_average:.1f})")

    def to_dict(self) -> dict[str, object]:
        return {**asdict(self), "machine": {**asdict(self.machine), "line": self.machine.line("fp32")}}

    @classmethod
    def from_dict(cls, data: dict[str, object], machine: Machine) -> Peaks:
        bf16 = data.get("bf16_flops")
        return cls(machine, float(data["fp32_flops"]), None if bf16 is None else float(bf16),  # type: ignore[arg-type]
                   float(data["read_bytes_per_s"]), str(data["measured_at"]), float(data["load_average"]))  # type: ignore[arg-type]


_MEASURED: dict[str, Peaks] = {}
"""Peaks measured in this process, by machine key (threads included: a benchmark may change them)."""


def peaks_file() -> Path:
    """``<harness cache>/floor/peaks.json``: the last peaks measured per machine, with its machine line."""
    from harness.models import cache_dir

    return cache_dir() / "floor" / "peaks.json"


def measure_peaks(machine: Machine) -> Peaks:
    """Measure the rates now (a few seconds, 1 GiB of memory)."""
    load = os.getloadavg()[0]
    bf16 = matmul_rate(torch.bfloat16) if machine.native_bf16 else None
    measured_at = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
    return Peaks(machine, matmul_rate(torch.float32), bf16, read_bandwidth(), measured_at, load)


def peaks(*, reuse_file: bool = False) -> Peaks:
    """This machine's peaks: measured once per process (so a benchmark's floors sit beside its times) and
    recorded in :func:`peaks_file`. With ``reuse_file`` the file's entry for this machine is taken when
    there is one (no measurement: for a quick look, not for a figure)."""
    machine = Machine.here()
    if machine.key in _MEASURED:
        return _MEASURED[machine.key]
    path = peaks_file()
    try:
        recorded = json.loads(path.read_text())
        recorded = recorded if isinstance(recorded, dict) else {}
    except (OSError, ValueError):
        recorded = {}
    if reuse_file and isinstance(recorded.get(machine.key), dict):
        found = Peaks.from_dict(recorded[machine.key], machine)
    else:
        from harness.fileio import atomic_write_json

        found = measure_peaks(machine)
        try:
            atomic_write_json(path, {**recorded, machine.key: found.to_dict()})
        except OSError:
            pass  # the record is a convenience; the figures are printed
    _MEASURED[machine.key] = found
    return found


def shape_of_checkpoint(location: str | Path) -> Shape:
    """The :class:`Shape` of a checkpoint folder from its config alone: the model is built on the meta
    device (no weights read, no memory), at the dtype the harness loads it in (fp32)."""
    from transformers import AutoConfig, AutoModelForCausalLM

    config = AutoConfig.from_pretrained(str(location))
    with torch.device("meta"):
        model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    return Shape.of(model)


def shape_of_model(name: str) -> Shape:
    """The :class:`Shape` of a model reference the harness resolves (alias, folder, GGUF)."""
    from harness.models import resolve_model

    return shape_of_checkpoint(resolve_model(name).location)


def prefill_floor_s(shape: Shape, tokens: int, peaks: Peaks, precision: str = "fp32") -> float:
    """Prompt tokens through the model: 2 x parameters FLOPs each at the matmul rate."""
    return tokens * 2 * shape.params_per_token / peaks.flops(precision)


def training_floor_s(shape: Shape, tokens: int, peaks: Peaks, precision: str = "fp32") -> float:
    """LoRA training: 4 x parameters FLOPs per token (forward, and activation gradients through the frozen
    weights; no weight gradients for them) at the rate of ``precision`` (bf16 mixed precision: bf16 matmuls)."""
    return tokens * 4 * shape.params_per_token / peaks.flops(precision)


def decode_step_floor_s(shape: Shape, batch: int, peaks: Peaks, precision: str = "fp32") -> float:
    """One decode step for ``batch`` rows: the weights read once, or the rows' FLOPs, whichever is longer."""
    return max(shape.weight_bytes / peaks.read_bytes_per_s, batch * 2 * shape.params_per_token / peaks.flops(precision))


def generation_floor_s(shape: Shape, prompt_tokens: int, new_tokens: int, batch: int, peaks: Peaks,
                       precision: str = "fp32") -> float:
    """Generating ``new_tokens`` after ``prompt_tokens`` at up to ``batch`` rows a step: the prefill, then at least
    ``ceil(new_tokens / batch)`` steps that each read the weights, and every new token's FLOPs."""
    steps = math.ceil(new_tokens / max(batch, 1))
    decode = max(steps * shape.weight_bytes / peaks.read_bytes_per_s,
                 new_tokens * 2 * shape.params_per_token / peaks.flops(precision))
    return prefill_floor_s(shape, prompt_tokens, peaks, precision) + decode


@dataclass(frozen=True)
class FloorRatio:
    """A stage's measured time beside its floor: the line a benchmark prints."""

    stage: str
    """What was timed (``generation, harness``)."""
    measured_s: float
    floor_s: float
    work: str
    """The work the floor counts (tokens, batch, precision)."""

    @property
    def ratio(self) -> float:
        return self.measured_s / self.floor_s if self.floor_s > 0 else math.inf

    def line(self) -> str:
        """``floor: STAGE: 12.30 s, floor 1.05 s: 11.71x (WORK)``."""
        return f"floor: {self.stage}: {self.measured_s:.2f} s, floor {self.floor_s:.3g} s: {self.ratio:.2f}x ({self.work})"


NO_MODEL_STAGE = "floor: n/a (no model stage)"


def header(precision: str) -> Peaks:
    """Print the machine line and this machine's peaks (measured now); return the peaks."""
    found = peaks()
    print(found.machine.line(precision), flush=True)
    print(found.line(), flush=True)
    return found


def generation_work(prompt_tokens: int, new_tokens: int, batch: int, precision: str = "fp32", requests: int | None = None) -> str:
    counted = f"{requests:,} requests, " if requests is not None else ""
    return f"{counted}{prompt_tokens:,} prompt + {new_tokens:,} new tokens, batch {batch}, {precision}"


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
    found = header("fp32")  # the machine line, and the rates measured now (recorded in the peaks file)
    fp32, bandwidth = found.fp32_flops, found.read_bytes_per_s
    stages = measure(args.batch, args.new_tokens, fp32, bandwidth)
    print(f"{'stage':9} {'measured':>10} {'floor':>10} {'ratio':>6}  what")
    for stage in stages:
        print(f"{stage.name:9} {stage.measured_s * 1000:8.1f}ms {stage.floor_s * 1000:8.2f}ms {stage.ratio:6.2f}  {stage.note}")
    worst = max(stages, key=lambda s: s.ratio)
    print(FloorRatio(worst.name, worst.measured_s, worst.floor_s, worst.note).line())
    print(f"median ratio {statistics.median(s.ratio for s in stages):.2f}; furthest: {worst.name}")
    print(f"ratio {worst.name}/floor = {worst.ratio:.2f}")


if __name__ == "__main__":
    main()
