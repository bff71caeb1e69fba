"""LoRA training on the transformers ``Trainer`` (so accelerate/torchrun/DeepSpeed just work).

Eval loss every epoch, early stopping on it, and the best epoch is what gets saved.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any, NamedTuple

from harness.training.config import TrainConfig
from harness.training.data import TrainingSets, tokenize_all
from harness.training.distributed import effective_batch_size, pin_local_device
from harness.training.targets import check_target_modules
from harness.training.throughput import StepTimer

from harness.models import LoadedModel, ensure_pad_token, load_model

log = logging.getLogger(__name__)

SCHEDULERS = {"linear": "linear", "cosine": "cosine", "constant": "constant_with_warmup"}
"""``training.lr_scheduler`` → transformers scheduler; warmup applies to each (constant holds after it)."""


class TrainResult(NamedTuple):
    """What a finished training run hands to the candidate writer."""

    model: Any
    """The peft model holding the best epoch's adapter weights."""
    tokenizer: Any
    base: LoadedModel
    log_history: list[dict[str, Any]]
    stats: dict[str, Any]


def build_peft_model(base_model: Any, config: TrainConfig) -> Any:
    """Wrap ``base_model`` with a fresh LoRA adapter; the base weights are frozen."""
    from peft import LoraConfig, get_peft_model

    check_target_modules(base_model, config.lora.target_modules, config_path=config.source)
    lora = LoraConfig(
        r=config.lora.r,
        lora_alpha=config.lora.alpha,  # type: ignore[arg-type]  # peft annotates int; a float scale works
        lora_dropout=config.lora.dropout,
        target_modules=config.lora.target_modules,
        task_type="CAUSAL_LM",
    )
    return get_peft_model(base_model, lora)


def resolved_precision(precision: str, *, use_cuda: bool) -> str:
    """``bf16`` or ``fp32``: ``auto`` takes bf16 where the device computes it natively, fp32 elsewhere."""
    import torch

    if precision != "auto":
        return precision
    if use_cuda:
        return "bf16" if torch.cuda.is_bf16_supported() else "fp32"
    native = [getattr(torch.cpu, name, lambda: False) for name in ("_is_avx512_bf16_supported", "_is_amx_tile_supported")]
    return "bf16" if any(check() for check in native) else "fp32"


def training_arguments(config: TrainConfig, output_dir: str, *, use_cuda: bool, **overrides: Any) -> Any:
    """``TrainingArguments`` for the config: per-epoch eval and checkpoints, best-epoch reload.

    ``overrides`` replace any argument (benchmarks use them to run a fixed number of steps).
    """
    from transformers import TrainingArguments

    t = config.training
    arguments: dict[str, Any] = dict(
        output_dir=output_dir,
        num_train_epochs=t.epochs,
        per_device_train_batch_size=t.batch_size,
        per_device_eval_batch_size=t.batch_size,
        gradient_accumulation_steps=t.gradient_accumulation,
        learning_rate=t.learning_rate,
        weight_decay=t.weight_decay,
        warmup_steps=t.warmup,
        lr_scheduler_type=SCHEDULERS[t.lr_scheduler],
        eval_strategy="epoch",
        save_strategy="epoch",
        logging_strategy="steps",
        logging_steps=5,
        load_best_model_at_end=True,
        metric_for_best_model="eval_loss",
        greater_is_better=False,
        save_total_limit=2,
        save_only_model=True,
        train_sampling_strategy="group_by_length",
        include_num_input_tokens_seen="non_padding",
        seed=config.seed,
        data_seed=config.seed,
        bf16=resolved_precision(t.precision, use_cuda=use_cuda) == "bf16",
        use_cpu=not use_cuda,
        report_to="none",
        remove_unused_columns=False,
        dataloader_num_workers=0,
        ddp_find_unused_parameters=False,  # LoRA uses every trainable weight; skips DDP's extra graph walk
        average_tokens_across_devices=False,  # True skews the eval loss under DDP (transformers 5.24: 10.7211 vs 10.7495)
    )
    arguments.update(overrides)
    return TrainingArguments(**arguments)


def train(config: TrainConfig, sets: TrainingSets, checkpoints: str | Path) -> TrainResult:
    """Train a LoRA adapter on ``sets`` and return the best epoch's model.

    Args:
        config: the resolved lora.yaml.
        sets: training and validation examples.
        checkpoints: scratch folder for per-epoch checkpoints (the run's hidden work folder).
    """
    import torch
    from harness.training.anchor import AnchoredTrainer
    from transformers import DataCollatorForSeq2Seq, set_seed

    set_seed(config.seed)
    pin_local_device()
    base = load_model(config.base_model)
    tokenizer = base.tokenizer
    ensure_pad_token(tokenizer, base.model)
    model = build_peft_model(base.model, config)
    kl = config.replay.loss == "kl" and sets.replay > 0
    train_data = tokenize_all(tokenizer, sets.train, config.training.max_length, replay=sets.replay if kl else 0)
    eval_data = tokenize_all(tokenizer, sets.validation, config.training.max_length)
    timer = StepTimer()
    started = time.perf_counter()
    trainer = AnchoredTrainer(
        model=model,
        kl_weight=config.replay.kl_weight if kl else None,
        args=training_arguments(config, str(checkpoints), use_cuda=torch.cuda.is_available()),
        train_dataset=train_data,
        eval_dataset=eval_data,
        data_collator=DataCollatorForSeq2Seq(tokenizer, padding=True, label_pad_token_id=-100),
        callbacks=_callbacks(config, timer),
    )
    trainer.train()
    state = trainer.state
    wall = time.perf_counter() - started
    tokens = int(state.num_input_tokens_seen)
    stats = {
        "wall_seconds": round(wall, 1),
        "train_step_seconds": round(timer.seconds, 1),
        "trained_tokens": tokens,
        "tokens_per_second": round(tokens / timer.seconds, 1) if timer.seconds else None,
        "epochs_run": round(state.epoch or 0, 2),
        "best_checkpoint_step": _step_of(state.best_model_checkpoint),
        "train_examples": len(train_data),
        "validation_examples": len(eval_data),
        "device": "cuda" if torch.cuda.is_available() else "cpu",
        "precision": "bf16" if trainer.args.bf16 else "fp32",
        "world_size": trainer.args.world_size,
        "effective_batch_size": effective_batch_size(config.training.batch_size, config.training.gradient_accumulation,
                                                     trainer.args.world_size),
    }
    return TrainResult(trainer.model, tokenizer, base, list(state.log_history), stats)


def _callbacks(config: TrainConfig, timer: StepTimer) -> list[Any]:
    from transformers import EarlyStoppingCallback

    patience = config.training.early_stopping_patience
    return [timer, EarlyStoppingCallback(patience)] if patience > 0 else [timer]


def _step_of(checkpoint: str | None) -> int | None:
    return int(Path(checkpoint).name.rsplit("-", 1)[-1]) if checkpoint else None
