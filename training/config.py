"""``lora.yaml``: the seed's training config, validated with ``path:line`` errors.

The seed's shape is valid exactly as written::

    base_model: meta-llama/Llama-3.1-8B-Instruct
    dataset: ./train.jsonl
    lora: {r: 16, alpha: 32, dropout: 0.05, target_modules: [q_proj, v_proj]}
    training: {epochs: 3, learning_rate: 2.0e-4, batch_size: 8, eval_split: 0.1}

Every other key is optional (see the dataclass fields). Relative paths are resolved
against the config file's folder. Values are checked by the engine of every config section
(:mod:`harness.config.fields`), ``harness.yaml``'s too: the same number rule in both files.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from harness.config.fields import parse_section
from harness.config.file import ConfigSource, read_yaml, relative_path


@dataclass
class LoraSection:
    """The adapter's shape."""

    r: int = field(default=16, metadata={"help": "adapter rank", "min": 1, "max": 4096})
    alpha: float = field(default=32, metadata={"help": "LoRA scaling numerator (usually 2x r)", "above": 0})
    dropout: float = field(default=0.05, metadata={"help": "dropout on the adapter input", "min": 0, "max": 0.99})
    target_modules: list[str] | str = field(
        default_factory=lambda: ["q_proj", "v_proj"],
        metadata={"help": "module names to adapt, or 'all-linear'", "nonempty": True},
    )


@dataclass
class TrainingSection:
    """How long and how fast to train."""

    epochs: int = field(default=3, metadata={"help": "maximum epochs (early stopping may end sooner)", "min": 1})
    learning_rate: float = field(default=2e-4, metadata={"help": "peak learning rate", "above": 0, "max": 1})
    lr_scheduler: str = field(
        default="linear",
        metadata={"help": "learning-rate decay after warmup", "choices": ["linear", "cosine", "constant"]},
    )
    batch_size: int = field(default=8, metadata={"help": "examples per device step", "min": 1})
    eval_split: float = field(
        default=0.1, metadata={"help": "share of the dataset carved out for validation", "min": 0.01, "max": 0.9}
    )
    gradient_accumulation: int = field(default=1, metadata={"help": "steps per optimizer update", "min": 1})
    warmup: float = field(
        default=0.0, metadata={"help": "linear warmup: share of steps (<1) or steps (>=1)", "min": 0, "max": 1_000_000}
    )
    weight_decay: float = field(default=0.0, metadata={"help": "AdamW weight decay", "min": 0})
    early_stopping_patience: int = field(
        default=1, metadata={"help": "epochs without eval-loss improvement before stopping (0: never)", "min": 0}
    )
    max_length: int = field(
        default=1024, metadata={"help": "longer examples are dropped (lint warns about them)", "min": 8, "max": 1_000_000}
    )
    precision: str = field(
        default="auto",
        metadata={"help": "matmul precision of training steps: 'bf16' mixed precision (fp32 weights, bf16 "
                          "compute), 'fp32', or 'auto': bf16 where the hardware computes it natively (CUDA with "
                          "bf16, a CPU with AVX512-BF16 or AMX), fp32 elsewhere",
                  "choices": ["auto", "bf16", "fp32"]},
    )


@dataclass
class ReplaySection:
    """General examples mixed in against forgetting: a chat dataset, the base model's own replies, or both."""

    dataset: str | None = field(default=None, metadata={"help": "chat JSONL of general examples"})
    prompts: str | None = field(
        default=None,
        metadata={"help": "self-distillation: JSONL of {\"prompt\"} answered by the base model (greedy, cached); "
                          "'builtin:replay' is the shipped set"},
    )
    share: float = field(default=0.1, metadata={"help": "replay examples as a share of the task examples", "min": 0, "max": 1})
    max_new_tokens: int = field(
        default=256,
        metadata={"help": "cap on each self-distilled reply (with loss text, unfinished replies are dropped)",
                  "min": 1, "max": 4096},
    )
    loss: str = field(
        default="text",
        metadata={"help": "what a replay example teaches: 'text' (cross-entropy on its reply) or 'kl' (the base "
                          "model's whole next-token distribution on the reply: KL(base || candidate), learning "
                          "without forgetting; one extra forward pass of the base per replay row)",
                  "choices": ["text", "kl"]},
    )
    kl_weight: float = field(
        default=1.0, metadata={"help": "with loss 'kl': weight of a replay token's KL against a task token's "
                                       "cross-entropy", "above": 0, "max": 1000})
    exclude: list[str] | None = field(
        default=None,
        metadata={"help": "the gate's general items and forgetting text, which replay must not overlap "
                          "(default: those of harness.yaml beside lora.yaml)", "nonempty": True},
    )


@dataclass
class TrainConfig:
    """A resolved ``lora.yaml``."""

    base_model: str = field(metadata={"help": "alias, checkpoint folder, .gguf file or hub id"})
    dataset: str = field(metadata={"help": "training chat JSONL (validation is carved out of it)"})
    lora: LoraSection = field(default_factory=LoraSection, metadata={"section": LoraSection})
    training: TrainingSection = field(default_factory=TrainingSection, metadata={"section": TrainingSection})
    replay: ReplaySection = field(default_factory=ReplaySection, metadata={"section": ReplaySection})
    heldout: str | None = field(default=None, metadata={"help": "the gate's held-out file: asserted absent from training"})
    task: str | None = field(default=None, metadata={"help": "task name for the candidate id and the registry"})
    output_dir: str = field(default="candidates", metadata={"help": "folder that receives candidates/<id>/"})
    seed: int = field(default=0, metadata={"help": "seed for the split, sampling and initialisation", "min": 0, "max": 2**32 - 1})
    source: str | None = field(default=None, metadata={"help": "the config file this was read from", "internal": True})

    def to_dict(self) -> dict[str, Any]:
        """The resolved config as plain data (what the candidate records)."""
        return asdict(self)


_PATH_KEYS = ("dataset", "heldout", "output_dir")
BUILTIN_PREFIX = "builtin:"


def load_config(path: str | Path, *, overrides: dict[str, Any] | None = None) -> TrainConfig:
    """Read and validate a ``lora.yaml``.

    Args:
        path: the config file.
        overrides: top-level values that replace the file's (e.g. ``heldout`` from a flag).

    Raises:
        ConfigError: ``path:line: bad-config: ...`` naming the key and the allowed values.
    """
    source = read_yaml(path)
    config = parse_section(source, "", source.data, TrainConfig)
    values: dict[str, Any] = {key: relative_path(path, getattr(config, key)) for key in _PATH_KEYS
                              if getattr(config, key) is not None}
    if (Path(path).resolve().parent / config.base_model).exists():  # a local checkpoint or .gguf next to the config
        values["base_model"] = relative_path(path, config.base_model)
    _resolve_replay(config.replay, path)
    # Overrides come from the command line: relative to the working directory.
    values.update({key: str(Path(v).resolve()) if key in _PATH_KEYS else v for key, v in (overrides or {}).items()})
    _check_targets(source, config.lora)
    return replace(config, **values, source=str(path))


def _resolve_replay(replay: ReplaySection, config: str | Path) -> None:
    """Paths relative to the config; ``builtin:`` data (e.g. the gate's general items to exclude) from the package."""
    if replay.dataset is not None:
        replay.dataset = relative_path(config, replay.dataset)
    if replay.prompts is not None and not replay.prompts.startswith(BUILTIN_PREFIX):
        replay.prompts = relative_path(config, replay.prompts)
    if replay.exclude is not None:
        replay.exclude = [relative_path(config, p) for p in replay.exclude]


def _check_targets(source: ConfigSource, lora: LoraSection) -> None:
    if isinstance(lora.target_modules, str) and lora.target_modules != "all-linear":
        raise source.error("lora.target_modules", "lora.target_modules must be a list of module names or 'all-linear'")
