"""Examples as a Hugging Face ``datasets.Dataset`` (the form training consumes)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from harness.records import Example


def to_hf_dataset(examples: Sequence[Example]) -> Any:
    """A ``datasets.Dataset`` with ``messages`` and ``source`` (path:line).

    Messages keep ``role``, ``content`` and ``weight`` (OpenAI's 0/1 flag on assistant turns,
    1 when absent) so every row has the same columns.
    """
    from datasets import Dataset

    return Dataset.from_dict({
        "messages": [[{"role": m["role"], "content": m["content"], "weight": int(m.get("weight", 1))} for m in e.messages]
                     for e in examples],
        "source": [f"{e.path}:{e.line}" for e in examples],
    })
