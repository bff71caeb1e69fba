"""The gate's own run, judged, with people's labels on some of its outputs: what the gate's PPI check reads.

:func:`judge_gate_run` scores the greedy output (sample 0) of every compared variant with the
configured judge, through the generation cache (the verdicts are cached under the judge
identity like generations, so a rerun of the gate on the same outputs judges nothing again),
and writes ``RUN_DIR/judge_scores.jsonl`` and ``judge.json`` (:mod:`harness.judge.runs`), so
``harness judge sample RUN_DIR --uniform`` can hand out the labelling sheet for exactly this run.
People's labels (:mod:`harness.judge.run_labels`) are attached by case id and the hash of the
output text.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from harness.judge.items import load_run_items
from harness.judge.judge import Judge
from harness.judge.run_labels import match_labels, read_run_labels
from harness.judge.runs import judge_run, read_run_scores

Key = tuple[str, str]
"""(case id, variant)."""


@dataclass(frozen=True)
class JudgedRun:
    """Judge scores on every compared output of a run, human labels on some."""

    judge: dict[Key, int | None]
    """(case, variant) → the judge's score (None: unscored)."""
    human: dict[Key, int]
    """(case, variant) → the consensus human label, where people labelled exactly this output text."""
    judge_identity: str
    """The identity the scores were made under."""
    unmatched_labels: int = 0
    """Labelled (case, output hash) pairs no output of the run has (labels on other texts, not used)."""


def _split(item_id: str) -> tuple[Key, int]:
    case, variant, sample = item_id.rsplit(":", 2)
    return (case, variant), int(sample)


def judge_gate_run(judge: Judge, run_dir: str | Path, variants: Sequence[str], labels: str | Path | None) -> JudgedRun:
    """Judge the greedy outputs of ``variants`` in the run, store the scores beside it, attach ``labels``.

    Raises:
        InputError: not a run folder, or an unusable labels file.
    """
    items = [item for item in load_run_items(run_dir) if item.variant in variants and _split(item.id)[1] == 0]
    if not items:  # nothing generated: nothing to judge (the gate's data check says why)
        return JudgedRun({}, {}, judge.identity)
    outputs = {_split(item.id)[0]: item.output for item in items}
    judge_run(judge, items, run_dir)
    scores = read_run_scores(run_dir)
    by_key: dict[Key, int | None] = {_split(s.id)[0]: s.judge for s in scores}
    if labels is None:
        return JudgedRun(by_key, {}, judge.identity)
    scale = judge.rubric.labels
    matched = match_labels(read_run_labels(labels, (scale[0], scale[-1])), outputs)
    return JudgedRun(by_key, matched.human, judge.identity, matched.unmatched)
