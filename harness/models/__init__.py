"""Model references: aliases, GGUF conversion, resolution and loading."""

from harness.models.cache import cache_dir
from harness.models.catalogue import DEFAULT_MODEL, EMBEDDED, EmbeddedModel
from harness.models.convert import convert_gguf, is_converted
from harness.models.load import LoadedModel, ensure_pad_token, load_model, load_tokenizer
from harness.models.resolve import ResolvedModel, embedded_gguf, resolve_model

__all__ = [
    "DEFAULT_MODEL",
    "EMBEDDED",
    "EmbeddedModel",
    "LoadedModel",
    "ResolvedModel",
    "cache_dir",
    "convert_gguf",
    "embedded_gguf",
    "ensure_pad_token",
    "is_converted",
    "load_model",
    "load_tokenizer",
    "resolve_model",
]
