"""A judged run with human labels on some of its outputs: what the gate's PPI check reads.

The judge's scores come from ``RUN_DIR/judge_scores.jsonl`` (``harness judge run``), the
human labels from a labels file whose ids are the run's item ids (``case_id:variant:sample``,
as ``harness judge sample`` writes them); several raters per item are reduced to their median
(:func:`~harness.judge.labels.median_label`). Only the greedy verdict (sample 0) counts.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from harness.judge.labels import read_labels
from harness.judge.runs import read_run_scores

Key = tuple[str, str]
"""(case id, variant)."""


@dataclass(frozen=True)
class JudgedRun:
    """Judge scores on every output of a run, human labels on some."""

    judge: dict[Key, int | None]
    """(case, variant) → the judge's score (None: unscored)."""
    human: dict[Key, int]
    """(case, variant) → the consensus human label, where people labelled the output."""
    judge_identity: str | None
    """The identity the scores were made under (None when the file mixes or lacks one)."""


def _key(item_id: str) -> tuple[Key, int]:
    case, variant, sample = item_id.rsplit(":", 2)
    return (case, variant), int(sample)


def load_judged_run(run_dir: str | Path, labels: str | Path | None, scale: tuple[int, int]) -> JudgedRun:
    """The run's judge scores and, when ``labels`` is given, the human labels on its outputs.

    Raises:
        InputError: the run was not judged, or the labels file is unusable (ids not in the run included).
    """
    scores = read_run_scores(run_dir)
    judge: dict[Key, int | None] = {}
    identities = {s.judge_identity for s in scores}
    for s in scores:
        key, sample = _key(s.id)
        if sample == 0:
            judge[key] = s.judge
    human: dict[Key, int] = {}
    if labels is not None:
        label_set = read_labels(labels, scale, {s.id: s.judge for s in scores if _key(s.id)[1] == 0})
        human = {_key(item)[0]: value for item, value in label_set.consensus().items()}
    return JudgedRun(judge, human, next(iter(identities)) if len(identities) == 1 else None)
