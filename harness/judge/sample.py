"""Picking judged items for people to label: stratified over judge scores and variants, with
the items where variants disagree most taken first (or uniformly at random, for
prediction-powered inference at the gate), optionally handed to several raters with a shared
overlap. The judge's scores go to a separate file so labellers never see them."""

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
from harness.judge.run_labels import output_sha256
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


def uniform(scores: Sequence[JudgeScore], n: int, seed: int = 0) -> list[JudgeScore]:
    """Up to ``n`` scores drawn uniformly at random: the sample prediction-powered inference needs (a stratified
    sample over-represents disagreements and would bias the judge's correction)."""
    rng = random.Random(seed)
    return rng.sample(list(scores), min(n, len(scores)))


def assign(ids: Sequence[str], raters: Sequence[str], overlap: float, seed: int = 0) -> dict[str, list[str]]:
    """rater → the ids they label: ``round(overlap * len(ids))`` ids go to every rater (the shared set that measures
    the human ceiling and lets the alternative annotator test run), the rest are dealt out one rater each.

    Raises:
        InputError: fewer than two shared ids while several raters should overlap.
    """
    rng = random.Random(seed)
    order = rng.sample(list(ids), len(ids))
    shared_n = round(overlap * len(order))
    if len(raters) > 1 and overlap > 0 and shared_n < 2:
        raise InputError(f"--overlap {overlap:g} of {len(order)} items shares {shared_n}; raise --overlap or --n so at "
                         "least 2 items (30 for the alternative annotator test) go to every rater", code="bad-option")
    shared, rest = order[:shared_n], order[shared_n:]
    out: dict[str, list[str]] = {r: list(shared) for r in raters}
    for k, item in enumerate(rest):
        out[raters[k % len(raters)]].append(item)
    return {r: rng.sample(items, len(items)) for r, items in out.items()}  # each rater's own order


def _csv(rows: Sequence[tuple[JudgeScore, JudgeItem]], rater: str | None) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["id", "case_id", "variant", "output_sha256", *(["rater"] if rater is not None else []), "input",
                     "output", "human"])
    for s, item in rows:  # case_id and output_sha256: what the gate matches a label to its run's outputs by
        writer.writerow([s.id, s.id.rsplit(":", 2)[0], s.variant, output_sha256(item.output),
                         *([rater] if rater is not None else []), item.input, item.output, ""])
    return buffer.getvalue()


def write_sample(run_dir: str | Path, n: int, out: str | Path, seed: int = 0, *, raters: Sequence[str] = (),
                 overlap: float = 0.0, uniform_sample: bool = False) -> tuple[list[Path], Path]:
    """Write the labelling CSV (``id, case_id, variant, output_sha256, input, output, human``), the rubric beside it,
    and the hidden judge scores. Filled in, the CSV is both a labels file for ``harness calibrate`` (by ``id``) and,
    for a uniform sample of a gate's run, ``gate.judge.labels`` (by ``case_id`` and ``output_sha256``,
    :mod:`harness.judge.run_labels`).

    With ``raters``, one CSV per rater (``OUT`` with suffix ``.<rater>.csv``, a ``rater`` column filled in), the
    ``overlap`` share of the items in every one of them (:func:`assign`).

    Returns:
        The CSV(s) and the hidden judge-scores file (``OUT`` with suffix ``.judge.jsonl``).
    """
    if n < 2:
        raise InputError(f"--n {n}: need at least 2 items to measure agreement", code="bad-option")
    if not 0 <= overlap <= 1:
        raise InputError(f"--overlap {overlap:g}: a share from 0 to 1", code="bad-option")
    if overlap and len(raters) < 2:
        raise InputError("--overlap needs --raters with at least two names, e.g. --raters ann,bob,cy", code="bad-option")
    if len(set(raters)) != len(raters) or any(not r or not r.replace("-", "").replace("_", "").isalnum() for r in raters):
        raise InputError(f"--raters {','.join(raters)}: distinct names of letters, digits, - and _", code="bad-option")
    scores, summary = load_run_scores(run_dir)
    greedy = [s for s in scores if s.sample == 0]
    sampled = uniform(greedy, n, seed) if uniform_sample else stratified(greedy, n, seed)
    items: dict[str, JudgeItem] = {item.id: item for item in load_run_items(run_dir)}
    out = Path(out)
    written = []
    if raters:
        by_id = {s.id: s for s in sampled}
        for rater, ids in assign([s.id for s in sampled], raters, overlap, seed).items():
            path = out.with_suffix(f".{rater}.csv")
            atomic_write_text(path, _csv([(by_id[i], items[i]) for i in ids], rater))
            written.append(path)
    else:
        atomic_write_text(out, _csv([(s, items[s.id]) for s in sampled], None))
        written.append(out)
    hidden = out.with_suffix(".judge.jsonl")
    atomic_write_text(hidden, "".join(s.to_json() + "\n" for s in sampled))
    if Path(summary["rubric"]).is_file():
        shutil.copyfile(summary["rubric"], out.with_suffix(".rubric.yaml"))
    logger.info("sampled %d of %d judged outputs", len(sampled), len(scores))
    return written, hidden
