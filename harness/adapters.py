"""Candidate LoRA adapters: safetensors only, and proven to take effect."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from harness.errors import HarnessError, InputError

ADAPTER_FILES = ("adapter_config.json", "adapter_model.safetensors")


class AdapterHasNoEffect(HarnessError, RuntimeError):
    """The adapter leaves the model's logits unchanged: evaluating it would silently evaluate the base."""

    code = "adapter-no-effect"


def check_adapter_folder(folder: str | Path) -> None:
    """Refuse anything but an adapter folder with safetensors weights (never pickles).

    Raises:
        InputError: a file is missing (the message names it).
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError("adapter folder not found; give a candidate folder written by `harness train`",
                         path=str(folder), code="not-an-adapter")
    for name in ADAPTER_FILES:
        if not (folder / name).is_file():
            raise InputError(f"{name} missing; give a candidate folder written by `harness train` "
                             "(adapters load from safetensors only)", path=str(folder), code="not-an-adapter")


def adapter_changes_logits(peft_model: Any, probe: list[int] | None = None) -> bool:
    """Whether the active adapter changes the logits of a short probe sequence."""
    import torch

    ids = torch.tensor([probe or [1, 20, 30, 40, 50, 60]], device=peft_model.device)
    with torch.inference_mode():
        adapted = peft_model(ids).logits
        with peft_model.disable_adapter():
            plain = peft_model(ids).logits
    return not torch.allclose(adapted, plain)
