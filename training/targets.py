"""Check ``lora.target_modules`` against the model's real module names."""

from __future__ import annotations

from typing import Any

from harness.errors import ConfigError


def linear_module_names(model: Any) -> list[str]:
    """Sorted short names of the model's linear layers (``q_proj``, ``v_proj``, ...), lm_head excluded."""
    import torch

    names = {name.rsplit(".", 1)[-1] for name, module in model.named_modules() if isinstance(module, torch.nn.Linear)}
    names.discard("lm_head")
    return sorted(names)


def check_target_modules(model: Any, targets: list[str] | str, *, config_path: str | None = None) -> None:
    """Raise if a target is not a linear module of ``model``.

    Raises:
        ConfigError: ``lora.target_modules: 'qproj' is not a module of LlamaForCausalLM; available: ...``
    """
    if targets == "all-linear":
        return
    available = linear_module_names(model)
    missing = [t for t in targets if t not in available]
    if missing:
        raise ConfigError(
            f"lora.target_modules: {', '.join(repr(m) for m in missing)} is not a module of "
            f"{type(model).__name__}; available: {', '.join(available)}",
            path=config_path,
        )
