"""Lexical retrieval (BM25, from the maintained ``bm25s`` package) over a corpus.

A corpus is one of:

- ``documents``: a folder of Markdown or text files; each file is split into passages of
  at most ~200 words at blank lines, each passage titled by its file's first heading;
- ``passages``: a JSONL file of ``{"id", "text"}`` (optionally ``"title"``);
- ``examples``: a chat JSONL of labelled examples (the training file): the search text is
  each example's user turn, and a hit is shown to the model as a demonstration (that
  example's user and assistant turns).
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from harness.data.load import load_examples, read_lines
from harness.errors import ConfigError
from harness.fileio import check_regular_file

CorpusKind = Literal["documents", "passages", "examples"]
PASSAGE_WORDS = 200
_SUFFIXES = (".md", ".markdown", ".txt")


@dataclass(frozen=True)
class Passage:
    """One retrievable unit."""

    id: str
    """File name with passage index, passage id, or example path:line."""
    text: str
    """What is searched (and, for documents and passages, shown)."""
    title: str = ""
    """Shown before the text in the prompt."""
    demonstration: tuple[dict[str, Any], ...] = field(default=(), compare=False)
    """For ``examples`` corpora: the user and assistant turns to show."""


def load_corpus(path: str | Path, kind: CorpusKind) -> list[Passage]:
    """Load a corpus of the given kind.

    Raises:
        ConfigError: the path is missing, empty or of the wrong kind.
    """
    path = Path(path)
    if kind == "documents":
        if not path.is_dir():
            raise ConfigError("a documents corpus must be a folder of .md/.txt files", path=str(path))
        passages = [p for file in sorted(path.iterdir()) if file.suffix in _SUFFIXES for p in _split_document(file)]
    elif kind == "passages":
        passages = [_passage(path, n, line) for n, line in enumerate(read_lines(path), 1) if line.strip()]
    else:
        passages = [
            Passage(f"{e.path}:{e.line}", next(m["content"] for m in reversed(e.prompt_messages) if m["role"] == "user"),
                    demonstration=tuple({"role": m["role"], "content": m["content"]}
                                        for m in e.messages if m["role"] != "system"))
            for e in load_examples(path)
        ]
    if not passages:
        raise ConfigError(f"the {kind} corpus is empty", path=str(path))
    return passages


def _split_document(file: Path) -> list[Passage]:
    try:
        text = check_regular_file(file, "corpus document").read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"not UTF-8 text (byte {exc.start}); save the document as UTF-8", path=str(file),
                          code="not-utf8") from None
    heading = re.search(r"^#\s+(.+)$", text, re.M)
    title = heading.group(1).strip() if heading else file.stem
    chunks: list[str] = []
    for block in re.split(r"\n\s*\n", text):
        block = block.strip()
        if not block or block == (heading.group(0).strip() if heading else None):
            continue
        if chunks and len(chunks[-1].split()) + len(block.split()) <= PASSAGE_WORDS:
            chunks[-1] += "\n\n" + block
        else:
            chunks.append(block)
    return [Passage(f"{file.name}#{i}", chunk, title) for i, chunk in enumerate(chunks)]


def _passage(path: Path, number: int, line: str) -> Passage:
    try:
        data = json.loads(line)
        return Passage(str(data["id"]), str(data["text"]), str(data.get("title", "")))
    except (json.JSONDecodeError, KeyError, TypeError) as exc:
        raise ConfigError("each passage line must be a JSON object with `id` and `text`", path=str(path), line=number) from exc


class BM25Retriever:
    """Top-k BM25 search over a corpus (English stopwords removed)."""

    def __init__(self, passages: list[Passage]) -> None:
        import bm25s

        logging.getLogger("bm25s").setLevel(logging.WARNING)  # it logs every index build at DEBUG
        self.passages = passages
        self._bm25s = bm25s
        self.index = bm25s.BM25()
        self.index.index(bm25s.tokenize([p.title + " " + p.text for p in passages], stopwords="en", show_progress=False),
                         show_progress=False)

    def search(self, queries: list[str], k: int) -> list[list[Passage]]:
        """The ``k`` best passages for each query, best first (fewer if the corpus is smaller)."""
        if not queries:
            return []
        k = min(k, len(self.passages))
        tokens = self._bm25s.tokenize(queries, stopwords="en", show_progress=False)
        hits, _ = self.index.retrieve(tokens, k=k, show_progress=False)
        return [[self.passages[int(i)] for i in row] for row in hits]
