"""Batched greedy generation with a local transformers model (the local backend's core).

Prompts are rendered with :func:`harness.chat.render` (the same function training
uses), sorted by length so each batch pads little, left-padded, and decoded greedily
under ``torch.inference_mode()``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from harness.chat import render
from harness.models.load import ensure_pad_token


def generate_greedy(
    model: Any,
    tokenizer: Any,
    conversations: Sequence[Sequence[dict[str, Any]]],
    *,
    max_new_tokens: int = 64,
    batch_size: int = 8,
) -> list[str]:
    """Greedy completions for each conversation, in input order.

    Args:
        model: a causal LM (optionally a peft model with an active adapter).
        tokenizer: its tokenizer with a chat template.
        conversations: message lists ending where the assistant should answer.
        max_new_tokens: cap on generated tokens per conversation.
        batch_size: conversations per ``generate`` call.
    """
    import torch

    prompts = [render(tokenizer, messages, add_generation_prompt=True) for messages in conversations]
    ensure_pad_token(tokenizer)
    tokenizer.padding_side = "left"
    order = sorted(range(len(prompts)), key=lambda i: len(prompts[i]), reverse=True)
    outputs: list[str] = [""] * len(prompts)
    model.eval()
    for start in range(0, len(order), batch_size):
        batch = order[start : start + batch_size]
        encoded = tokenizer([prompts[i] for i in batch], return_tensors="pt", padding=True, add_special_tokens=False)
        encoded = encoded.to(model.device)
        with torch.inference_mode():
            generated = model.generate(
                **encoded, max_new_tokens=max_new_tokens, do_sample=False, temperature=None, top_p=None, top_k=None,
                pad_token_id=tokenizer.pad_token_id, eos_token_id=tokenizer.eos_token_id,
            )
        for index, row in zip(batch, generated[:, encoded["input_ids"].shape[1] :], strict=True):
            outputs[index] = tokenizer.decode(row, skip_special_tokens=True).strip()
    return outputs
