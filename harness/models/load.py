"""Load a resolved model and its tokenizer with transformers."""

from __future__ import annotations

import logging
from typing import Any, NamedTuple

from harness.errors import ModelNotAvailableError
from harness.models.resolve import ResolvedModel, resolve_model

log = logging.getLogger(__name__)


class LoadedModel(NamedTuple):
    """A model in memory with its tokenizer and where it came from."""

    model: Any
    tokenizer: Any
    ref: ResolvedModel


def _require_loadable(ref: ResolvedModel) -> None:
    if not ref.loadable:
        raise ModelNotAvailableError(f"{ref.spec} is served by an OpenAI-compatible endpoint; it cannot be loaded here")


def _damaged(ref: ResolvedModel, what: str, exc: BaseException) -> ModelNotAvailableError:
    """The error for a model folder that exists but cannot be loaded, with how to recover."""
    reason = " ".join(f"{type(exc).__name__}: {exc}".split())[:300]
    if ref.kind in ("embedded", "gguf"):  # our converted copy: rebuilt from the GGUF when deleted
        fix = f"the converted model in the harness cache is damaged; delete {ref.location} and rerun (it is rebuilt)"
    else:
        fix = f"check the checkpoint folder {ref.location} (a damaged or partly copied file?)"
    return ModelNotAvailableError(f"cannot load the {what} of {ref.spec} ({reason}); {fix}", path=ref.location,
                                  code="damaged-model")


def load_tokenizer(spec_or_ref: str | ResolvedModel) -> Any:
    """Load the tokenizer (with its chat template) of a model reference."""
    from transformers import AutoTokenizer

    ref = resolve_model(spec_or_ref) if isinstance(spec_or_ref, str) else spec_or_ref
    _require_loadable(ref)
    try:
        return AutoTokenizer.from_pretrained(ref.location)
    except Exception as exc:  # OSError, JSON errors, tokenizers' own: the files are missing or damaged
        raise _damaged(ref, "tokenizer", exc) from exc


DTYPE_NAMES = ("float32", "bfloat16", "float16")
"""The weight and compute dtypes a local model may be loaded in (``backend: {dtype: ...}``)."""


def resolved_device(device: str | None) -> str:
    """The torch device a load will use: the one asked for, else CUDA when present, else the CPU."""
    if device:
        return device
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def resolved_dtype_name(dtype: str | None, device: str) -> str:
    """The dtype a load will use: the one asked for (``auto``/None: bfloat16 on CUDA, float32 elsewhere)."""
    if dtype and dtype != "auto":
        return dtype
    return "bfloat16" if device.startswith("cuda") else "float32"


def load_model(spec_or_ref: str | ResolvedModel, *, device: str | None = None, dtype: Any = None) -> LoadedModel:
    """Load model and tokenizer; CUDA when present, CPU otherwise.

    Args:
        spec_or_ref: a ``base_model`` string or an already resolved model.
        device: ``"cuda"``, ``"cpu"``; default picks CUDA when available.
        dtype: a torch dtype; default float32 on CPU and bfloat16 on CUDA.
    """
    import torch
    from transformers import AutoModelForCausalLM

    ref = resolve_model(spec_or_ref) if isinstance(spec_or_ref, str) else spec_or_ref
    _require_loadable(ref)
    device = resolved_device(device)
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ModelNotAvailableError(f"device {device!r} asked for, but this machine has no usable CUDA device; "
                                     "use device: cpu or leave device unset", code="no-device")
    dtype = dtype or getattr(torch, resolved_dtype_name(None, device))
    tokenizer = load_tokenizer(ref)
    try:
        model = AutoModelForCausalLM.from_pretrained(ref.location, dtype=dtype)
    except Exception as exc:  # OSError, SafetensorError, config errors: the files are missing or damaged
        raise _damaged(ref, "weights", exc) from exc
    return LoadedModel(model.to(device), tokenizer, ref)  # type: ignore[arg-type]  # transformers' stub of .to


def ensure_pad_token(tokenizer: Any, model: Any | None = None) -> int:
    """Give the tokenizer a pad token distinct from EOS, so padding is never trained as EOS.

    Uses the unknown token when it exists and differs from EOS; otherwise adds ``<|pad|>``
    and resizes the model's embeddings. Returns the pad token id.
    """
    if tokenizer.pad_token_id is not None and tokenizer.pad_token_id != tokenizer.eos_token_id:
        return tokenizer.pad_token_id
    if tokenizer.unk_token is not None and tokenizer.unk_token_id != tokenizer.eos_token_id:
        tokenizer.pad_token = tokenizer.unk_token
    else:
        tokenizer.add_special_tokens({"pad_token": "<|pad|>"})
        if model is not None:
            model.resize_token_embeddings(len(tokenizer))
    if model is not None:
        model.config.pad_token_id = tokenizer.pad_token_id
    return tokenizer.pad_token_id
