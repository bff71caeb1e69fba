"""Candidate LoRA adapters: safetensors only, checked before use, and proven to take effect.

An adapter's identity (what the generation cache keys it by) is the hash of everything peft
reads from its folder: the weights *and* ``adapter_config.json`` (``lora_alpha``, ``r``,
target modules ... all change the outputs).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from harness.errors import HarnessError, InputError
from harness.fileio import check_regular_file, sha256_file

ADAPTER_CONFIG, ADAPTER_WEIGHTS = "adapter_config.json", "adapter_model.safetensors"
ADAPTER_FILES = (ADAPTER_CONFIG, ADAPTER_WEIGHTS)
_RECOVER = "retrain it, or copy the candidate folder again from where `harness train` wrote it"


class AdapterHasNoEffect(HarnessError, RuntimeError):
    """The adapter leaves the model's logits unchanged: evaluating it would silently evaluate the base."""

    code = "adapter-no-effect"


def check_adapter_folder(folder: str | Path) -> None:
    """Refuse anything but an adapter folder with a sound config and safetensors weights (never pickles).

    Reads only the config and the weights' header: cheap enough before every run.

    Raises:
        InputError: a file is missing, not a regular file, or damaged (the message names it).
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError("adapter folder not found; give a candidate folder written by `harness train`",
                         path=str(folder), code="not-an-adapter")
    for name in ADAPTER_FILES:
        if not (folder / name).is_file():
            raise InputError(f"{name} missing; give a candidate folder written by `harness train` "
                             "(adapters load from safetensors only)", path=str(folder), code="not-an-adapter")
    check_adapter_config(folder / ADAPTER_CONFIG)
    check_safetensors(folder / ADAPTER_WEIGHTS, recover=_RECOVER)


def check_adapter_config(path: Path) -> dict[str, Any]:
    """Parse and sanity-check ``adapter_config.json`` (the values peft would choke on later).

    Raises:
        InputError: not JSON, not an object, or a LoRA rank/alpha/target that cannot work.
    """
    try:
        config = json.loads(check_regular_file(path, "adapter config").read_text(encoding="utf-8"))
    except (ValueError, RecursionError) as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise InputError(f"damaged adapter config ({exc}); {_RECOVER}", path=str(path), code="damaged-adapter") from None
    if not isinstance(config, dict) or not isinstance(config.get("peft_type"), str):
        raise InputError(f"not a peft adapter config (a JSON object with peft_type); {_RECOVER}", path=str(path),
                         code="damaged-adapter")
    if config["peft_type"] == "LORA":
        r, alpha, targets = config.get("r"), config.get("lora_alpha"), config.get("target_modules")
        if not (type(r) is int and r > 0) or not (type(alpha) in (int, float) and alpha == alpha):
            raise InputError(f"r must be a positive integer and lora_alpha a number; got r={r!r}, lora_alpha={alpha!r}",
                             path=str(path), code="damaged-adapter")
        if targets is not None and not isinstance(targets, str | list):
            raise InputError(f"target_modules must be a list of names or a string; got {targets!r}", path=str(path),
                             code="damaged-adapter")
    return config


def check_safetensors(path: Path, *, recover: str) -> None:
    """Read a safetensors file's header (not its tensors): a truncated or foreign file fails here.

    Raises:
        InputError: the header is damaged or does not cover the file.
    """
    from safetensors import safe_open

    check_regular_file(path, "safetensors file")
    try:
        with safe_open(str(path), framework="numpy") as handle:
            handle.keys()
    except Exception as exc:  # SafetensorError derives from Exception only
        raise InputError(f"damaged weights ({exc}); {recover}", path=str(path), code="damaged-weights") from None


def adapter_identity(folder: str | Path) -> dict[str, Any]:
    """Path and hashes of an adapter folder: the weights and the config peft reads with them."""
    from harness.models.cache import cached_sha256

    folder = Path(folder)
    return {"path": str(folder.resolve()), "sha256": cached_sha256(folder / ADAPTER_WEIGHTS),
            "config_sha256": sha256_file(folder / ADAPTER_CONFIG)}


def adapter_changes_logits(peft_model: Any, probe: list[int] | None = None) -> bool:
    """Whether the active adapter changes the logits of a short probe sequence."""
    import torch

    ids = torch.tensor([probe or [1, 20, 30, 40, 50, 60]], device=peft_model.device)
    with torch.inference_mode():
        adapted = peft_model(ids).logits
        with peft_model.disable_adapter():
            plain = peft_model(ids).logits
    return not torch.allclose(adapted, plain)
