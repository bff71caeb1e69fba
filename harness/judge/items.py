"""Where judge items come from: a run folder's results, or a JSONL file of replies."""

from __future__ import annotations

import json
import logging
from pathlib import Path

from harness.errors import InputError
from harness.judge.records import JudgeItem, JudgeScore
from harness.records import CaseResult

logger = logging.getLogger(__name__)


def run_item_id(result: CaseResult) -> str:
    """The judge item id of one run result: ``case_id:variant:sample``."""
    g = result.generation
    return f"{g.case_id}:{g.variant}:{g.sample}"


def load_run_items(run_dir: str | Path) -> list[JudgeItem]:
    """One item per generated output of a run (failed generations have nothing to judge and are left out).

    Raises:
        InputError: the folder has no ``results.jsonl``.
    """
    path = Path(run_dir) / "results.jsonl"
    if not path.is_file():
        raise InputError("not a run folder (no results.jsonl); pass a folder written by `harness eval`",
                         path=str(run_dir), code="not-a-run")
    results = [CaseResult.from_json(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    items = [JudgeItem(run_item_id(r), r.case.user_text, r.generation.text, r.generation.variant)
             for r in results if r.generation.text is not None]
    logger.info("%d outputs to judge (%d failed generations left out)", len(items), len(results) - len(items))
    return items


def load_items(path: str | Path) -> list[JudgeItem]:
    """Items from a JSONL file with ``id``, ``input``, ``output`` and optional ``variant`` on every line.

    Raises:
        InputError: a line that is not JSON, lacks a key, or repeats an id.
    """
    items: list[JudgeItem] = []
    seen: set[str] = set()
    for number, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(f"not JSON ({exc.msg})", path=str(path), line=number, code="invalid-json") from exc
        missing = [k for k in ("id", "input", "output") if not isinstance(row.get(k), str)]
        if missing:
            raise InputError(f"missing string key(s) {', '.join(missing)}; each line needs id, input and output",
                             path=str(path), line=number, code="missing-key")
        if row["id"] in seen:
            raise InputError(f"id {row['id']!r} appears twice; ids must be unique", path=str(path), line=number,
                             code="duplicate-id")
        seen.add(row["id"])
        items.append(JudgeItem(row["id"], row["input"], row["output"], str(row.get("variant", ""))))
    return items


def write_scores(path: str | Path, scores: list[JudgeScore]) -> None:
    """Write judge scores as JSONL, atomically."""
    from harness.fileio import atomic_write_text

    atomic_write_text(path, "".join(s.to_json() + "\n" for s in scores))
