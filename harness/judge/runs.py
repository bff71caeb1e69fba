"""Judging a run's outputs and storing the scores beside the run.

``RUN_DIR/judge_scores.jsonl`` holds one :class:`~harness.judge.records.JudgeScore` per
output; ``RUN_DIR/judge.json`` the summary (judge identity, rubric, unscored rate, mean
score per variant) that a report shows.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import pandas as pd

from harness.errors import InputError
from harness.fileio import atomic_write_json
from harness.judge.items import write_scores
from harness.judge.judge import Judge
from harness.judge.records import JudgeItem, JudgeScore

logger = logging.getLogger(__name__)
SCORES_FILE, SUMMARY_FILE = "judge_scores.jsonl", "judge.json"


@dataclass(frozen=True)
class JudgeRunSummary:
    """What ``RUN_DIR/judge.json`` holds."""

    judge_identity: str
    """The judge identity the scores were made under."""
    rubric: str
    """The rubric file."""
    rubric_sha256: str
    """Its hash."""
    model: dict
    """The judge model's identity."""
    n: int
    """Outputs judged."""
    unscored: int
    """Verdicts that could not be parsed."""
    per_variant: dict[str, dict[str, float | int | None]]
    """variant → n, unscored and mean score (unscored left out)."""

    def to_text(self) -> str:
        """A few lines for the terminal."""
        lines = [f"judge {self.judge_identity[:12]} ({self.rubric}): {self.n} outputs, {self.unscored} unscored"]
        for variant, row in self.per_variant.items():
            mean = "n/a" if row["mean"] is None else f"{row['mean']:.2f}"
            lines.append(f"  {variant:<16} n={row['n']:<4} unscored={row['unscored']:<3} mean={mean}")
        lines.append("these scores count at the gate only with a passing calibration: harness calibrate --store")
        return "\n".join(lines)


def summarise(scores: Sequence[JudgeScore]) -> dict[str, dict[str, float | int | None]]:
    """Per variant: n, unscored and the mean of the scored verdicts (pandas)."""
    frame = pd.DataFrame([{"variant": s.variant, "judge": s.judge} for s in scores])
    out: dict[str, dict[str, float | int | None]] = {}
    for variant, group in frame.groupby("variant", sort=False):
        mean = group["judge"].dropna().mean()
        out[str(variant)] = {"n": len(group), "unscored": int(group["judge"].isna().sum()),
                             "mean": None if pd.isna(mean) else float(mean)}
    return out


def judge_run(judge: Judge, items: Sequence[JudgeItem], run_dir: str | Path) -> JudgeRunSummary:
    """Score every output of a run and write the scores and the summary into the run folder."""
    scores = judge.score(items)
    write_scores(Path(run_dir) / SCORES_FILE, scores)
    summary = JudgeRunSummary(judge.identity, judge.rubric.path, judge.rubric.sha256, judge.backend.identity(), len(scores),
                              sum(s.judge is None for s in scores), summarise(scores))
    atomic_write_json(Path(run_dir) / SUMMARY_FILE, asdict(summary))
    return summary


def read_run_scores(run_dir: str | Path) -> list[JudgeScore]:
    """The judge scores stored in a run folder.

    Raises:
        InputError: the run has not been judged, or a line of the scores file is damaged.
    """
    path = Path(run_dir) / SCORES_FILE
    if not path.is_file():
        raise InputError(f"no {SCORES_FILE}: judge the run first with `harness judge run {run_dir} --rubric R.yaml`",
                         path=str(run_dir), code="not-judged")
    scores = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if line.strip():
            try:
                scores.append(JudgeScore(**json.loads(line)))
            except (ValueError, TypeError) as exc:
                raise InputError(f"not a judge score ({exc}); judge the run again", path=str(path), line=number,
                                 code="bad-judge-scores") from None
    return scores


def load_run_scores(run_dir: str | Path) -> tuple[list[JudgeScore], dict]:
    """The judge scores and summary stored in a run folder.

    Raises:
        InputError: the run has not been judged.
    """
    scores = read_run_scores(run_dir)
    return scores, json.loads((Path(run_dir) / SUMMARY_FILE).read_text(encoding="utf-8"))
