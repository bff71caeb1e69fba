"""The tone scorer as a judge: its per-reply scores written as judge scores, so ``harness calibrate`` checks it
against human tone labels with the same statistics and verdict rules as an LLM judge.

``tone_joint`` (on [0, 1]) becomes the label scale's level by equal-width bins, fixed before
any label is seen: on 1-5, [0, 0.2) is 1, [0.2, 0.4) is 2, ... and [0.8, 1] is 5. The
continuous value is kept in each record's ``raw``.
"""

from __future__ import annotations

import logging
from pathlib import Path

from harness.config.eval_config import load_eval_config
from harness.errors import InputError
from harness.eval.cases import load_cases
from harness.judge.items import load_items, write_scores
from harness.judge.records import JudgeItem, JudgeScore
from harness.records import Case
from harness.scorers.base import make_scorer
from harness.scorers.tone import ToneScorer

logger = logging.getLogger(__name__)


def to_level(joint: float, scale: list[int]) -> int:
    """``joint`` in [0, 1] as a level of ``scale`` (equal-width bins)."""
    return scale[min(len(scale) - 1, int(joint * len(scale)))]


def tone_judge_scores(config_path: str | Path, replies_path: str | Path, scale: list[int]) -> list[JudgeScore]:
    """Score each reply of ``replies_path`` (``id``, ``input``, ``output`` per line) with the config's tone scorer.

    A reply's reference is the held-out case with the same user message (the config's ``cases``).

    Raises:
        InputError: the config has no ``scoring.tone``, or a bad replies file.
    """
    config = load_eval_config(config_path)
    if config.scoring.tone is None:
        raise InputError("no scoring.tone in this config; add it (README: the tone scorer)", path=str(config_path),
                         code="no-tone")
    scorer = make_scorer("tone", config=config.scoring.tone).scorer
    assert isinstance(scorer, ToneScorer)
    items = load_items(replies_path)
    references = {case.user_text.strip(): case.reference for case in load_cases(config.cases, config.task)}
    cases = [_case(item, config.task, references.get(item.input.strip())) for item in items]
    scorer.prepare([(c, i.output) for c, i in zip(cases, items, strict=True) if scorer.applies(c)])
    identity = f"tone:{scorer.model().key[:16]}"
    return [_score(scorer, case, item, scale, identity) for case, item in zip(cases, items, strict=True)]


def write_tone_judge_scores(config_path: str | Path, replies_path: str | Path, scale: list[int],
                            out: str | Path) -> Path:
    """:func:`tone_judge_scores` written as a judge-scores JSONL file (what ``--judge-scores`` reads)."""
    scores = tone_judge_scores(config_path, replies_path, scale)
    write_scores(out, scores)
    logger.info("%d tone scores written to %s", len(scores), out)
    return Path(out)


def _case(item: JudgeItem, task: str, reference: str | None) -> Case:
    return Case(item.id, task, ({"role": "user", "content": item.input},), reference)


def _score(scorer: ToneScorer, case: Case, item: JudgeItem, scale: list[int], identity: str) -> JudgeScore:
    if not scorer.applies(case):
        return JudgeScore(item.id, item.variant, 0, None, None, None, "no held-out case with this input: no reference",
                          identity, "")
    joint = next(s for s in scorer.score_text(case, item.output) if s.metric == "tone_joint")
    level = None if joint.value is None else to_level(joint.value, scale)
    return JudgeScore(item.id, item.variant, 0, level, joint.detail, f"tone_joint {joint.value}",
                      joint.detail if joint.value is None else None, identity, "")
