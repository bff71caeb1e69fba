"""Picking judged items for people to label: stratified over judge scores and variants, with
the items where variants disagree most taken first. The judge's scores go to a separate
file so labellers never see them."""

from __future__ import annotations

import csv
import io
import logging
import random
import shutil
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

from harness.errors import InputError
from harness.fileio import atomic_write_text
from harness.judge.items import load_run_items
from harness.judge.records import JudgeItem, JudgeScore
from harness.judge.runs import load_run_scores

logger = logging.getLogger(__name__)


def _case(item_id: str) -> str:
    return item_id.split(":", 1)[0]


def disagreeing(scores: Sequence[JudgeScore], spread: int = 2) -> set[str]:
    """Ids of outputs whose case's variants got judge scores at least ``spread`` apart."""
    by_case: dict[str, list[int]] = defaultdict(list)
    for s in scores:
        if s.judge is not None:
            by_case[_case(s.id)].append(s.judge)
    wide = {case for case, values in by_case.items() if max(values) - min(values) >= spread}
    return {s.id for s in scores if _case(s.id) in wide}


def stratified(scores: Sequence[JudgeScore], n: int, seed: int = 0) -> list[JudgeScore]:
    """Up to ``n`` scores: a third from cases where variants disagree, the rest round-robin over (variant, score)."""
    rng = random.Random(seed)
    wide = disagreeing(scores)
    first = [s for s in scores if s.id in wide]
    rng.shuffle(first)
    chosen = first[: n // 3]
    strata: dict[tuple[str, int | None], list[JudgeScore]] = defaultdict(list)
    for s in scores:
        if s not in chosen:
            strata[(s.variant, s.judge)].append(s)
    queues = [rng.sample(group, len(group)) for _, group in sorted(strata.items(), key=lambda kv: str(kv[0]))]
    while len(chosen) < n and any(queues):
        for queue in queues:
            if queue and len(chosen) < n:
                chosen.append(queue.pop())
    return rng.sample(chosen, len(chosen))  # labellers must not infer the stratum from the order


def write_sample(run_dir: str | Path, n: int, out: str | Path, seed: int = 0) -> tuple[Path, Path]:
    """Write the labelling CSV (``id, variant, input, output, human``), the rubric beside it, and the hidden judge scores.

    Returns:
        The CSV and the hidden judge-scores file (``OUT`` with suffix ``.judge.jsonl``).
    """
    if n < 2:
        raise InputError(f"--n {n}: need at least 2 items to measure agreement", code="bad-option")
    scores, summary = load_run_scores(run_dir)
    sampled = stratified([s for s in scores if s.sample == 0], n, seed)
    items: dict[str, JudgeItem] = {item.id: item for item in load_run_items(run_dir)}
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["id", "variant", "input", "output", "human"])
    for s in sampled:
        writer.writerow([s.id, s.variant, items[s.id].input, items[s.id].output, ""])
    out = Path(out)
    atomic_write_text(out, buffer.getvalue())
    hidden = out.with_suffix(".judge.jsonl")
    atomic_write_text(hidden, "".join(s.to_json() + "\n" for s in sampled))
    if Path(summary["rubric"]).is_file():
        shutil.copyfile(summary["rubric"], out.with_suffix(".rubric.yaml"))
    logger.info("sampled %d of %d judged outputs", len(sampled), len(scores))
    return out, hidden
