"""Token counts with the real tokenizer and chat template (lint's lengths and statistics).

Lint must handle 100,000 lines in seconds, so it does not go through
``apply_chat_template`` and ``tokenizer(...)`` for each example. It loads the model's
``tokenizer.json`` with the ``tokenizers`` library and compiles the chat template once
(with transformers' own compiler), then uses one exact property of Hugging Face
tokenizers: added tokens (``<|im_start|>``, ``<|im_end|>``, ...) are split out of the
text before anything else, so a text's token count is the number of added tokens plus
the counts of the segments between them. Segments repeat across examples (the system
prompt, role headers, labels), so each distinct segment is tokenized once. When an added
token has strip or single-word flags this identity may not hold, and every text is
tokenized whole instead. Tests check both paths against ``apply_chat_template``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from harness.data.codes import severity_of
from harness.errors import InputError
from harness.records import Example, Finding

_SPECIAL_KEYS = ("bos_token", "eos_token", "unk_token", "pad_token")


class ChatTokenizer:
    """Renders conversations with a checkpoint's chat template and counts tokens fast."""

    def __init__(self, tokenizer: Any, template: str, special_tokens: dict[str, str]) -> None:
        from transformers.utils.chat_template_utils import _compile_jinja_template

        self.tokenizer = tokenizer
        self.template = _compile_jinja_template(template)
        self.special_tokens = special_tokens
        added = tokenizer.get_added_tokens_decoder().values()
        self.splittable = all(not (t.lstrip or t.rstrip or t.single_word) for t in added)
        contents = sorted((t.content for t in added), key=len, reverse=True)
        self._added = re.compile("(" + "|".join(map(re.escape, contents)) + ")") if contents else None
        self._segment_counts: dict[str, int] = {}

    @classmethod
    def from_checkpoint(cls, folder: str | Path) -> ChatTokenizer:
        """Load ``tokenizer.json`` and the chat template of a transformers checkpoint folder.

        Raises:
            InputError: the folder has no ``tokenizer.json`` or no chat template.
        """
        from tokenizers import Tokenizer

        folder = Path(folder)
        if not (folder / "tokenizer.json").exists():
            raise InputError("no tokenizer.json; lint needs a fast tokenizer (or pass --model none)", path=str(folder))
        try:
            config_file = folder / "tokenizer_config.json"
            config = json.loads(config_file.read_text()) if config_file.exists() else {}
            template_file = folder / "chat_template.jinja"
            template = template_file.read_text() if template_file.exists() else config.get("chat_template")
            if not isinstance(template, str):
                raise InputError("no chat template in the checkpoint; use an instruct/chat model", path=str(folder))
            special = {k: v if isinstance(v, str) else v.get("content", "") for k in _SPECIAL_KEYS if (v := config.get(k))}
            return cls(Tokenizer.from_file(str(folder / "tokenizer.json")), template, special)
        except InputError:
            raise
        except Exception as exc:  # a damaged tokenizer.json / config / template (tokenizers raises a bare Exception)
            raise InputError(f"cannot read the tokenizer ({type(exc).__name__}: {' '.join(str(exc).split())[:200]}); "
                             "if this is the harness cache, delete this folder and rerun (it is rebuilt), "
                             "or pass --model none", path=str(folder), code="damaged-model") from exc

    def render(self, messages: Sequence[dict[str, Any]], *, add_generation_prompt: bool = False) -> str:
        """The conversation as the model sees it (equal to ``apply_chat_template(tokenize=False)``)."""
        turns = [{"role": m["role"], "content": m["content"]} for m in messages]
        return self.template.render(messages=turns, add_generation_prompt=add_generation_prompt, **self.special_tokens)

    def count(self, texts: Sequence[str]) -> np.ndarray:
        """Exact token counts of ``texts`` (no special tokens added around them)."""
        if not self.splittable or self._added is None:
            encoded = self.tokenizer.encode_batch_fast(list(texts), add_special_tokens=False)
            return np.fromiter((len(e.ids) for e in encoded), dtype=np.int64, count=len(texts))
        pieces = [self._added.split(text) for text in texts]
        cache = self._segment_counts
        new = list({s for parts in pieces for s in parts[::2] if s and s not in cache})
        if new:
            cache.update(zip(new, (len(e.ids) for e in self.tokenizer.encode_batch_fast(new, add_special_tokens=False)),
                             strict=True))
        # split() with one capture group alternates text, token, text, ...: odd items are added tokens.
        return np.fromiter((len(parts) // 2 + sum(cache[s] for s in parts[::2] if s) for parts in pieces),
                           dtype=np.int64, count=len(texts))


class TokenCounter:
    """Counts tokens of examples as the model will see them.

    Args:
        chat: the model's tokenizer and chat template.
        max_length: the model's context length (``max_position_embeddings``).
    """

    def __init__(self, chat: ChatTokenizer, max_length: int) -> None:
        self.chat = chat
        self.max_length = max_length
        self._last: tuple[Sequence[Example], tuple[np.ndarray, np.ndarray]] | None = None

    def counts(self, examples: Sequence[Example]) -> tuple[np.ndarray, np.ndarray]:
        """Tokens per rendered example and per assistant output, as two arrays."""
        if self._last is None or self._last[0] is not examples:
            total = self.chat.count([self.chat.render(e.messages) for e in examples])
            assistant = self.chat.count([e.output or "" for e in examples])
            self._last = (examples, (total, assistant))
        return self._last[1]

    def too_long(self, examples: Sequence[Example]) -> list[Finding]:
        """Warnings for examples longer than the context window."""
        total, _ = self.counts(examples)
        return [
            Finding(e.path, e.line, "too-long", severity_of("too-long"),
                    f"{n} tokens with the chat template; the model's context is {self.max_length}: shorten or drop it")
            for e, n in zip(examples, total, strict=True)
            if n > self.max_length
        ]

    def statistics(self, examples: Sequence[Example]) -> dict[str, dict[str, int]]:
        """min, p50, p95, max and total tokens per example and per assistant output."""
        total, assistant = self.counts(examples)
        return {"example": _describe(total), "assistant": _describe(assistant)}


def _describe(values: np.ndarray) -> dict[str, int]:
    if len(values) == 0:
        return {"min": 0, "p50": 0, "p95": 0, "max": 0, "total": 0}
    p50, p95 = np.percentile(values, [50, 95])
    return {"min": int(values.min()), "p50": int(p50), "p95": int(p95), "max": int(values.max()),
            "total": int(values.sum())}
