"""Load candidate LoRA adapters onto a base model: safetensors only, and proven to take effect."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from harness.errors import HarnessError, InputError


class AdapterHasNoEffect(HarnessError, RuntimeError):
    """The adapter leaves the model's logits unchanged: evaluating it would silently evaluate the base."""

    code = "adapter-no-effect"


def load_adapter(model: Any, folder: str | Path, *, check_effect: bool = True) -> Any:
    """Wrap ``model`` with the adapter in ``folder`` and return the peft model.

    Raises:
        InputError: ``folder`` has no ``adapter_config.json`` or no ``adapter_model.safetensors``.
        AdapterHasNoEffect: ``check_effect`` and the adapter does not change the logits of a probe.
    """
    from peft import PeftModel

    folder = Path(folder)
    for name in ("adapter_config.json", "adapter_model.safetensors"):
        if not (folder / name).is_file():
            raise InputError(f"{name} missing; give a candidate folder written by `harness train`",
                             path=str(folder), code="not-an-adapter")
    peft_model = PeftModel.from_pretrained(model, str(folder), is_trainable=False).eval()
    if check_effect and not adapter_changes_logits(peft_model):
        raise AdapterHasNoEffect(f"the adapter in {folder} does not change the model's outputs; was it trained?",
                                 path=str(folder))
    return peft_model


def adapter_changes_logits(peft_model: Any, probe: list[int] | None = None) -> bool:
    """Whether the active adapter changes the logits of a short probe sequence."""
    import torch

    ids = torch.tensor([probe or [1, 20, 30, 40, 50, 60]], device=peft_model.device)
    with torch.inference_mode():
        adapted = peft_model(ids).logits
        with peft_model.disable_adapter():
            plain = peft_model(ids).logits
    return not torch.allclose(adapted, plain)
