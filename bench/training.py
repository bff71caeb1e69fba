"""Training throughput: the harness's Trainer path vs a plain peft + torch loop.

Both train the same LoRA (the demo config's shape) on the embedded SmolLM2-135M over the
same length-grouped batches of the demo triage data; the figure is trained (non-padding)
tokens per second of training steps. It also reports what length-grouped dynamic
padding saves against padding every batch to the longest example.

    python bench/training.py [--steps 8] [--data suites/triage/data/split/train.jsonl] [--precision fp32|bf16]

Both paths train at the same precision (``--precision``; bf16 is mixed precision, as
``training.precision: bf16``). With ``--compare-precision`` it also prints the harness path's
tokens/s in bf16 against fp32 (the lever ``precision: auto`` takes on a CPU with AVX512-BF16).

Last line: ``ratio harness/plain = X.XX`` (target >= 0.95).
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import sys
import tempfile
import time
from pathlib import Path

# This script shares its name with the `training` package: keep its own folder off the import path.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # bench.floor importable (as bench.floor, not floor)

import torch  # noqa: E402
from harness.training.config import LoraSection, TrainConfig, TrainingSection  # noqa: E402
from harness.training.data import tokenize_all  # noqa: E402
from harness.training.throughput import StepTimer  # noqa: E402
from harness.training.trainer import build_peft_model, training_arguments  # noqa: E402
from transformers import DataCollatorForSeq2Seq, Trainer, set_seed  # noqa: E402

from bench.floor import FloorRatio, header, shape_of_model, training_floor_s  # noqa: E402
from harness.data import load_examples  # noqa: E402
from harness.models import DEFAULT_MODEL, ensure_pad_token, load_model  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def fresh_model(config: TrainConfig):
    set_seed(0)
    base = load_model(DEFAULT_MODEL, device="cpu")
    ensure_pad_token(base.tokenizer, base.model)
    return build_peft_model(base.model, config), base.tokenizer


def harness_run(config: TrainConfig, dataset, steps: int) -> tuple[float, int, list]:
    """Train ``steps`` steps through the harness's Trainer setup; return seconds, tokens and the batches."""
    model, tokenizer = fresh_model(config)
    timer = StepTimer()
    with tempfile.TemporaryDirectory() as out:
        args = training_arguments(config, out, use_cuda=False, max_steps=steps, eval_strategy="no", save_strategy="no",
                                  load_best_model_at_end=False, disable_tqdm=True, logging_strategy="no")
        trainer = Trainer(model=model, args=args, train_dataset=dataset, callbacks=[timer],
                          data_collator=DataCollatorForSeq2Seq(tokenizer, padding=True, label_pad_token_id=-100))
        batches = [batch for _, batch in zip(range(steps), trainer.get_train_dataloader(), strict=False)]
        trainer.train()
        tokens = int(trainer.state.num_input_tokens_seen)
    return timer.seconds, tokens, batches


def plain_run(config: TrainConfig, batches: list) -> tuple[float, int]:
    """The same batches through a bare peft + torch AdamW loop."""
    model, _ = fresh_model(config)
    model.train()
    mixed = torch.autocast("cpu", dtype=torch.bfloat16, enabled=config.training.precision == "bf16")
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=config.training.learning_rate)
    seconds, tokens = 0.0, 0
    for batch in batches:
        started = time.perf_counter()
        with mixed:
            loss = model(**{k: v for k, v in batch.items() if k in ("input_ids", "attention_mask", "labels")}).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        seconds += time.perf_counter() - started
        tokens += int(batch["attention_mask"].sum())
    return seconds, tokens


def padded_to_max(batches: list, max_len: int, pad_id: int) -> list:
    """The same examples, every batch padded to the longest example of the dataset."""
    out = []
    for batch in batches:
        extra = max_len - batch["input_ids"].shape[1]
        out.append({
            "input_ids": torch.nn.functional.pad(batch["input_ids"], (0, extra), value=pad_id),
            "attention_mask": torch.nn.functional.pad(batch["attention_mask"], (0, extra), value=0),
            "labels": torch.nn.functional.pad(batch["labels"], (0, extra), value=-100),
        })
    return out


def compare_precision(config: TrainConfig, dataset, steps: int, repeats: int) -> None:
    """The harness path's tokens/s with ``precision: bf16`` against ``fp32``, runs alternating."""
    tps: dict[str, list[float]] = {"fp32": [], "bf16": []}
    for _ in range(repeats):
        for precision in tps:
            changed = dataclasses.replace(config, training=dataclasses.replace(config.training, precision=precision))
            seconds, tokens, _ = harness_run(changed, dataset, steps)
            tps[precision].append(tokens / seconds)
    fp32, bf16 = statistics.median(tps["fp32"]), statistics.median(tps["bf16"])
    print(f"harness path: fp32 {fp32:.1f} tok/s, bf16 mixed precision {bf16:.1f} tok/s: {bf16 / fp32:.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--data", default=str(ROOT / "suites/triage/data/split/train.jsonl"))
    parser.add_argument("--precision", choices=["fp32", "bf16"], default="fp32")
    parser.add_argument("--compare-precision", action="store_true", help="also: harness path bf16 vs fp32 tokens/s")
    args = parser.parse_args()
    torch.manual_seed(0)
    config = TrainConfig(base_model=DEFAULT_MODEL, dataset=args.data,
                         lora=LoraSection(r=16, alpha=32, dropout=0.05, target_modules=["q_proj", "v_proj"]),
                         training=TrainingSection(batch_size=8, learning_rate=2e-4, precision=args.precision))
    _, tokenizer = fresh_model(config)
    dataset = tokenize_all(tokenizer, load_examples(args.data), config.training.max_length)
    print(f"threads={torch.get_num_threads()} examples={len(dataset)} steps={args.steps} batch=8 r=16 q_proj,v_proj "
          f"{args.precision}")
    peaks = header(args.precision)
    if args.compare_precision:
        compare_precision(config, dataset, args.steps, args.repeats)
    _, _, batches = harness_run(config, dataset, 2)  # warm-up: first steps pay for allocation and kernels
    plain_run(config, batches)
    harness_tps, plain_tps = [], []
    for repeat in range(args.repeats):
        seconds, tokens, batches = harness_run(config, dataset, args.steps)
        harness_tps.append(tokens / seconds)
        seconds, tokens = plain_run(config, batches)
        plain_tps.append(tokens / seconds)
        print(f"repeat {repeat}: harness {harness_tps[-1]:.1f} tok/s, plain loop {plain_tps[-1]:.1f} tok/s")
    max_len = max(dataset["length"])
    seconds_dynamic, _ = plain_run(config, batches)
    seconds_padded, _ = plain_run(config, padded_to_max(batches, max_len, tokenizer.pad_token_id))
    print(f"length-grouped dynamic padding: {seconds_dynamic:.1f} s; padded to max length {max_len}: {seconds_padded:.1f} s; "
          f"speed-up {seconds_padded / seconds_dynamic:.2f}x")
    floor_per_token = training_floor_s(shape_of_model(DEFAULT_MODEL), tokens, peaks, args.precision) / tokens
    work = (f"{tokens:,} trained tokens a run ({args.steps} steps, batch 8), LoRA r=16 q/v, {args.precision}; "
            f"median of {args.repeats}")
    for name, tps in (("plain peft + torch loop", plain_tps), ("harness Trainer", harness_tps)):
        seconds = tokens / statistics.median(tps)
        print(FloorRatio(f"training, {name}", seconds, floor_per_token * tokens, work).line())
    ratio = statistics.median(harness_tps) / statistics.median(plain_tps)
    print(f"ratio harness/plain = {ratio:.2f}")


if __name__ == "__main__":
    main()
