"""Mean per-token loss of texts under a causal language model: the one owner of that maths.

Used by the tone scorer's fluency axis and by the local backend's ``token_losses`` (the gate's
forgetting check): each text is tokenised on its own, without a chat template, and its tokens'
cross-entropy is averaged. Rows are right-padded, so every row's positions start at 0 and no
padded position predicts a real token: a text's loss does not depend on the batch it shares
(within fp32 rounding). A text with fewer than two tokens has nothing to predict: its loss is None.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from harness.models.load import ensure_pad_token


def mean_token_losses(model: Any, tokenizer: Any, texts: Sequence[str], *, batch_size: int = 16) -> list[float | None]:
    """Mean next-token cross-entropy (nats) of each text under ``model``; None for texts of under two tokens."""
    import torch

    ensure_pad_token(tokenizer)
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))  # similar lengths share a batch: little padding
    by_index: dict[int, float | None] = {}
    for start in range(0, len(order), batch_size):
        indices = order[start : start + batch_size]
        side, tokenizer.padding_side = tokenizer.padding_side, "right"  # positions from 0 in every row
        try:
            encoded = tokenizer([texts[i] for i in indices], return_tensors="pt", padding=True).to(model.device)
        finally:
            tokenizer.padding_side = side
        with torch.inference_mode():
            logits = model(**encoded).logits[:, :-1].float()
        targets = encoded["input_ids"][:, 1:]
        mask = encoded["attention_mask"][:, 1:].float()
        nll = torch.nn.functional.cross_entropy(logits.transpose(1, 2), targets, reduction="none")
        counts = mask.sum(dim=1)
        means = ((nll * mask).sum(dim=1) / counts.clamp(min=1)).tolist()
        by_index.update({i: (m if c > 0 else None) for i, m, c in zip(indices, means, counts.tolist(), strict=True)})
    return [by_index[i] for i in range(len(texts))]
