"""Stop generating at the end of a complete top-level JSON value (``decoding.stop_at_json_end``).

An output that starts (after whitespace) with ``{`` or ``[`` is complete when its brackets
balance outside strings; everything after that point is dropped. Any other output (prose
first, a code fence, a bare number) is left as generated. With greedy decoding, stopping
early and trimming a full generation give the same text: the stopping criterion only
saves the tokens that would have been trimmed.
"""

from __future__ import annotations

import functools
from typing import Any

_CLOSE = {"{": "}", "[": "]"}


def json_value_end(text: str) -> int | None:
    """Index just after the first complete top-level JSON object or array in ``text``.

    None when ``text`` does not start (after whitespace) with ``{`` or ``[``, or the value
    is not complete yet, or a closer does not match its opener. Brackets are balanced
    outside strings (escapes honoured); the value is not otherwise validated (``{a}`` ends
    at its ``}``).
    """
    start = len(text) - len(text.lstrip())
    if start == len(text) or text[start] not in _CLOSE:
        return None
    stack: list[str] = []
    in_string = escaped = False
    for index in range(start, len(text)):
        char = text[index]
        if in_string:
            escaped, in_string = (False, True) if escaped else (char == "\\", char != '"')
        elif char == '"':
            in_string = True
        elif char in _CLOSE:
            stack.append(_CLOSE[char])
        elif char in "}]":
            if not stack or stack.pop() != char:
                return None  # a mismatched closer: not JSON, the output is kept as generated
            if not stack:
                return index + 1
    return None


def trim_after_json(text: str) -> str:
    """``text`` up to the end of its leading complete JSON value (unchanged when there is none)."""
    end = json_value_end(text)
    return text if end is None else text[:end]


@functools.lru_cache(maxsize=8)
def _closer_ids(tokenizer: Any) -> frozenset[int]:
    """Token ids whose text holds ``}`` or ``]``: only after one of them can a value end."""
    vocab = tokenizer.get_vocab()
    return frozenset(i for token, i in vocab.items() if "}" in token or "]" in token)


class JsonEndCriteria:
    """A transformers stopping criterion: a sequence is done once its new text holds a complete JSON value.

    Args:
        tokenizer: the tokenizer that decodes the new tokens.
        prompt_length: the (padded) prompt width; tokens after it are the generation.
    """

    def __init__(self, tokenizer: Any, prompt_length: int) -> None:
        self.tokenizer = tokenizer
        self.prompt_length = prompt_length
        self.closers = _closer_ids(tokenizer)

    def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> Any:
        """One bool per sequence: True where the generation so far holds a complete JSON value."""
        import torch

        done = torch.zeros(input_ids.shape[0], dtype=torch.bool, device=input_ids.device)
        if input_ids.shape[1] <= self.prompt_length:
            return done
        for row, last in enumerate(input_ids[:, -1].tolist()):
            if last in self.closers:
                text = self.tokenizer.decode(input_ids[row, self.prompt_length :], skip_special_tokens=True)
                done[row] = json_value_end(text) is not None
        return done
