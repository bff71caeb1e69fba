"""Render conversations with the model's own chat template.

Training and evaluation both call :func:`render`, so the two can never disagree on the
prompt format.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from harness.errors import InputError


def render(tokenizer: Any, messages: Sequence[dict[str, Any]], *, add_generation_prompt: bool) -> str:
    """Render ``messages`` to the text the model sees.

    Args:
        tokenizer: a transformers tokenizer with a chat template.
        messages: dicts with ``role`` and ``content`` (other keys are dropped).
        add_generation_prompt: append the header that opens the assistant's turn.

    Raises:
        InputError: the tokenizer has no chat template.
    """
    if not getattr(tokenizer, "chat_template", None):
        raise InputError(
            f"tokenizer {getattr(tokenizer, 'name_or_path', '?')!r} has no chat template; use an instruct/chat model",
            code="no-chat-template",
        )
    turns = [{"role": m["role"], "content": m["content"]} for m in messages]
    return tokenizer.apply_chat_template(turns, tokenize=False, add_generation_prompt=add_generation_prompt)


def template_hash(tokenizer: Any) -> str:
    """sha256 of the chat template text, for manifests."""
    from harness.fileio import sha256_text

    return sha256_text(str(getattr(tokenizer, "chat_template", "") or ""))
