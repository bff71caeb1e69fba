"""Reading a judge-scores file (JSONL from ``harness judge``, or a CSV with ``id`` and ``judge``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from harness.errors import InputError
from harness.judge.labels import _integer, _rows


@dataclass
class JudgeScores:
    """The greedy verdict per id, sampled repeats, and the judge identity they were produced under."""

    scores: dict[str, int | None]
    """id → score of sample 0 (None: unscored)."""
    retest: dict[int, dict[str, int | None]] = field(default_factory=dict)
    """sample index (≥ 1) → id → score."""
    judge_identity: str | None = None
    """The judge identity, when the file names exactly one."""
    rubric_sha256: str | None = None
    """The rubric hash, when the file names exactly one."""


def read_judge_scores(path: str | Path, scale: tuple[int, int]) -> JudgeScores:
    """Read and validate a judge-scores file.

    Raises:
        InputError: a missing ``id``/``judge`` column, a non-integer or out-of-scale score, or several judge identities.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError("judge-scores file not found", path=str(path), code="missing-file")
    result = JudgeScores({})
    identities, rubrics = set(), set()
    for number, row in _rows(path):
        if "id" not in row or "judge" not in row:
            raise InputError("missing column(s) id/judge; pass the file `harness judge` wrote", path=str(path), line=number,
                             code="missing-column")
        score = _integer(row["judge"], "judge", (str(path), number), scale, True)
        sample = int(row.get("sample") or 0)
        (result.scores if sample == 0 else result.retest.setdefault(sample, {}))[str(row["id"])] = score
        identities.add(row.get("judge_identity"))
        rubrics.add(row.get("rubric_sha256"))
    if len(identities) > 1 or len(rubrics) > 1:
        raise InputError(f"scores from {len(identities)} judge identities / {len(rubrics)} rubrics are mixed; calibrate "
                         "one judge at a time", path=str(path), code="mixed-judge")
    result.judge_identity, result.rubric_sha256 = next(iter(identities), None), next(iter(rubrics), None)
    return result
