"""Load held-out cases: chat examples (reference = the final assistant turn) or fact questions.

Two file formats, told apart line by line:

- a chat example ``{"messages": [...]}`` (the training format): the input is every message
  before the final assistant turn, the reference is that turn;
- a fact question ``{"id", "question", "answer", "accept": [...], "source"}`` (the RAG demo's
  format, ``suites/facts/questions.jsonl``): the input is one user turn, the reference is
  ``answer``, and ``accept`` lists strings any of which makes an answer correct.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from harness.data.load import load_examples, read_lines
from harness.errors import InputError
from harness.fileio import sha256_file, sha256_text
from harness.records import Case

QUESTION_KEYS = {"id", "question", "answer", "accept", "source"}
ITEM_KEYS = {"id", "kind", "prompt", "checks"}


def split_sha256(cases: str | Path) -> str | None:
    """sha256 of the ``split.json`` beside a held-out file (written by ``harness split``), if there is one."""
    split = Path(cases).parent / "split.json"
    return sha256_file(split) if split.exists() else None


def case_id(task: str, messages: Any, reference: str | None) -> str:
    """Stable content hash: the same input and reference always get the same id."""
    return sha256_text(json.dumps([task, list(messages), reference], sort_keys=True, ensure_ascii=False))[:16]


def load_cases(path: str | Path, task: str) -> list[Case]:
    """Load every case of a held-out file.

    Raises:
        InputError: the file is missing or empty, or a line fits neither format (with its line).
    """
    lines = read_lines(path)
    first = next((line for line in lines if line.strip()), "")
    if not first:
        raise InputError("no cases in this file; give the held-out JSONL that `harness split` writes", path=str(path),
                         code="no-cases")
    if '"question"' in first and '"messages"' not in first:
        return [_question(path, number, text, task) for number, text in enumerate(lines, 1) if text.strip()]
    if '"checks"' in first and '"messages"' not in first:
        return [_item(path, number, text, task) for number, text in enumerate(lines, 1) if text.strip()]
    cases = []
    for example in load_examples(path):
        if example.output is None:
            raise InputError("held-out example has no final assistant turn to compare with", path=str(path), line=example.line)
        prompt = tuple({"role": m["role"], "content": m["content"]} for m in example.prompt_messages)
        cases.append(Case(case_id(task, prompt, example.output), task, prompt, example.output,
                          {"source": f"{example.path}:{example.line}"}))
    return cases


def _parse(path: str | Path, number: int, text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"invalid JSON: {exc.msg}", path=str(path), line=number, code="invalid-json") from exc
    except RecursionError:
        raise InputError("nested too deeply to read; each line must be one flat case", path=str(path), line=number,
                         code="invalid-json") from None
    except ValueError as exc:  # e.g. an integer longer than Python converts
        raise InputError(f"invalid JSON: {exc}", path=str(path), line=number, code="invalid-json") from None


def _item(path: str | Path, number: int, text: str, task: str) -> Case:
    data = _parse(path, number, text)
    if not isinstance(data, dict) or set(data) != ITEM_KEYS or not isinstance(data["checks"], list) or not data["checks"]:
        raise InputError(f"a general-capability item needs exactly the keys {sorted(ITEM_KEYS)} with a non-empty "
                         "`checks` list", path=str(path), line=number, code="bad-item")
    if not all(isinstance(c, dict) and isinstance(c.get("type"), str) for c in data["checks"]):
        raise InputError("each check must be a mapping with a `type` (the general_checks scorer lists the known types)",
                         path=str(path), line=number, code="bad-item")
    messages = ({"role": "user", "content": data["prompt"]},)
    metadata = {"source": f"{path}:{number}", "item_id": data["id"], "kind": data["kind"], "checks": data["checks"]}
    return Case(case_id(task, messages, json.dumps(data["checks"], sort_keys=True)), task, messages, None, metadata)


def _question(path: str | Path, number: int, text: str, task: str) -> Case:
    data = _parse(path, number, text)
    if not isinstance(data, dict) or set(data) != QUESTION_KEYS:
        keys = sorted(data) if isinstance(data, dict) else type(data).__name__
        raise InputError(f"a question line needs exactly the keys {sorted(QUESTION_KEYS)}; got {keys}",
                         path=str(path), line=number, code="bad-question")
    if not isinstance(data["accept"], list) or not data["accept"] or not all(isinstance(a, str) and a for a in data["accept"]):
        raise InputError("`accept` must be a non-empty list of strings", path=str(path), line=number, code="bad-question")
    messages = ({"role": "user", "content": data["question"]},)
    metadata = {"source": f"{path}:{number}", "question_id": data["id"], "accept": data["accept"], "doc": data["source"]}
    return Case(case_id(task, messages, data["answer"]), task, messages, data["answer"], metadata)
