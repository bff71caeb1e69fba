"""Token ids and labels for a conversation: loss on assistant tokens only.

Labels come from the same :func:`harness.models.chat.render` the harness uses at inference.
For each assistant turn, the text of the conversation up to that turn *with* the
generation prompt is a prefix ``P``; the text including the turn is ``F``. The template
must only extend its output (``F`` starts with ``P``); the characters between them are
the turn. Tokens whose characters fall inside the turn, up to and including the
end-of-turn token, are labelled; everything else (system, user, template headers, the
newline after end-of-turn, padding) is ``-100``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

from harness.errors import InputError
from harness.models.chat import render

IGNORE_INDEX = -100


class TokenizedExample(NamedTuple):
    """Model inputs for one conversation."""

    input_ids: list[int]
    labels: list[int]


class TemplateError(InputError):
    """The chat template does not extend its own prefix, so turns cannot be located."""

    code = "chat-template"


def assistant_spans(tokenizer: Any, messages: Sequence[dict[str, Any]]) -> tuple[str, list[tuple[int, int]]]:
    """The full rendered text and the character span of every trained assistant turn.

    A turn with OpenAI's ``weight: 0`` is not trained.
    """
    full = render(tokenizer, messages, add_generation_prompt=False)
    spans = []
    for index, message in enumerate(messages):
        if message["role"] != "assistant" or message.get("weight", 1) == 0:
            continue
        prefix = render(tokenizer, messages[:index], add_generation_prompt=True)
        upto = render(tokenizer, messages[: index + 1], add_generation_prompt=False)
        if not upto.startswith(prefix) or not full.startswith(upto):
            raise TemplateError(
                "the chat template rewrites earlier text when a turn is added; "
                "labels need a template that only appends (check for date or tool injections)"
            )
        spans.append((len(prefix), len(upto)))
    return full, spans


def tokenize_conversation(tokenizer: Any, messages: Sequence[dict[str, Any]]) -> TokenizedExample:
    """Token ids and assistant-only labels (content plus the end-of-turn token)."""
    full, spans = assistant_spans(tokenizer, messages)
    encoded = tokenizer(full, add_special_tokens=False, return_offsets_mapping=True)
    ids, offsets = encoded["input_ids"], encoded["offset_mapping"]
    end_of_turn = tokenizer.eos_token_id
    labels = [IGNORE_INDEX] * len(ids)
    for start, end in spans:
        inside = [i for i, (a, _) in enumerate(offsets) if start <= a < end]
        stop = next((i for i in inside if ids[i] == end_of_turn), None)
        for i in inside:
            if stop is not None and i > stop:
                break
            labels[i] = ids[i]
    if spans and end_of_turn is not None and end_of_turn not in [ids[i] for i, lab in enumerate(labels) if lab != IGNORE_INDEX]:
        # The template closes turns without the EOS token: append it so the model learns to stop.
        ids, labels = ids + [end_of_turn], labels + [end_of_turn]
    return TokenizedExample(ids, labels)
