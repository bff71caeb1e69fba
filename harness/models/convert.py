"""Convert a GGUF file once into a safetensors checkpoint in the cache.

transformers loads GGUF by de-quantising every tensor (about 20 s for SmolLM2-135M);
the converted checkpoint (config, safetensors weights, tokenizer and chat template)
reloads in well under a second. The cache folder is keyed by the GGUF's sha256, so a
changed file is converted again and an unchanged one never is.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

from harness.errors import HarnessError, ModelNotAvailableError
from harness.fileio import atomic_directory, atomic_write_json, remove_abandoned
from harness.models.cache import cache_dir, cached_sha256

log = logging.getLogger(__name__)
MARKER = "harness-model.json"


def converted_dir(gguf_sha256: str) -> Path:
    """The cache folder of the checkpoint converted from a GGUF with this sha256."""
    return cache_dir() / "models" / gguf_sha256[:16]


def is_converted(gguf_path: Path) -> bool:
    """Whether the GGUF already has a complete converted checkpoint in the cache."""
    return (converted_dir(cached_sha256(gguf_path)) / MARKER).exists()


def convert_gguf(gguf_path: Path, *, alias: str | None = None) -> Path:
    """Return the converted checkpoint folder of ``gguf_path``, converting it on first use.

    The folder is built under a temporary name and renamed into place, so a crash or a
    concurrent conversion never leaves a half-written checkpoint.
    """
    sha = cached_sha256(gguf_path)
    target = converted_dir(sha)
    if (target / MARKER).exists():
        return target
    remove_abandoned(target.parent, f".{target.name}.*.partial")  # conversions killed before: no live holder
    log.info("converting %s to safetensors in %s (once)", gguf_path, target)
    started = time.perf_counter()
    try:
        with atomic_directory(target) as tmp:
            _write_checkpoint(gguf_path, tmp)
            marker = {"source": str(gguf_path), "gguf_sha256": sha, "alias": alias,
                      "convert_seconds": round(time.perf_counter() - started, 2)}
            atomic_write_json(tmp / MARKER, marker)
    except (FileExistsError, OSError):
        if not (target / MARKER).exists():  # not a concurrent winner: a real failure
            raise
    except HarnessError:
        raise
    except Exception as exc:  # transformers' GGUF reader: not a GGUF, truncated, unsupported architecture
        raise ModelNotAvailableError(f"cannot convert this GGUF file ({type(exc).__name__}: {' '.join(str(exc).split())[:200]}); "
                                     "is it a complete GGUF of a supported architecture?", path=str(gguf_path),
                                     code="bad-gguf") from exc
    return target


def _write_checkpoint(gguf_path: Path, out: Path) -> None:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(gguf_path.parent, gguf_file=gguf_path.name)
    model = AutoModelForCausalLM.from_pretrained(gguf_path.parent, gguf_file=gguf_path.name)
    # The weights are de-quantised already; transformers refuses to save while the GGUF
    # quantizer marker is set, and the GGUF config carries no `architectures`.
    model.hf_quantizer = None  # type: ignore[assignment]
    model.is_quantized = False  # type: ignore[assignment]
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    model.config.architectures = [type(model).__name__]
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    config = json.loads((out / "config.json").read_text())
    if "quantization_config" in config or not config.get("architectures"):
        raise RuntimeError(f"conversion of {gguf_path} wrote an unusable config.json")
