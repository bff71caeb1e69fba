"""Reading human labels (CSV or JSONL) and joining them with judge scores, validated at the boundary.

Every bad input is an :class:`~harness.errors.InputError` naming the file, the line and what
to do: a missing column, a label that is not an integer, a label outside the scale, fewer
than two distinct human labels, or ids that do not match the judge-scores file.
"""

from __future__ import annotations

import csv
import json
import statistics
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.errors import InputError


@dataclass(frozen=True)
class Label:
    """One human rating of one item, with the judge's score for the item."""

    id: str
    """The item."""
    human: int
    """The human's ordinal rating."""
    judge: int | None
    """The judge's score; None when the judge's verdict was unscored."""
    variant: str = ""
    """The variant that wrote the reply."""
    rater: str = ""
    """Who rated it (several raters per item measure human-human agreement)."""
    line: int = 0
    """Line in the labels file."""


@dataclass
class LabelSet:
    """A validated labels file."""

    labels: list[Label]
    """Every rating, in file order."""
    path: str
    """The labels file."""
    judge_identity: str | None = None
    """From the judge-scores file, when it names one."""
    rubric_sha256: str | None = None
    """From the judge-scores file, when it names one."""
    retest: dict[int, dict[str, int | None]] = field(default_factory=dict)
    """Sampled repeat verdicts (sample index → id → score), for the test-retest probe."""

    def primary(self) -> list[Label]:
        """One label per item: its first rating in file order (kept for callers that need a row; the
        calibration compares the judge with :meth:`consensus` and with every rater instead)."""
        seen: dict[str, Label] = {}
        for label in self.labels:
            seen.setdefault(label.id, label)
        return list(seen.values())

    def items(self) -> list[str]:
        """Every rated item, sorted by id (so no figure depends on the order of the file's rows)."""
        return sorted({label.id for label in self.labels})

    def ratings(self) -> dict[str, dict[str, int]]:
        """rater → item → rating, raters and items sorted."""
        out: dict[str, dict[str, int]] = {}
        for label in sorted(self.labels, key=lambda x: (x.rater, x.id)):
            out.setdefault(label.rater, {})[label.id] = label.human
        return out

    def judge_scores(self) -> dict[str, int | None]:
        """item → the judge's score (None: unscored), items sorted."""
        return {label.id: label.judge for label in sorted(self.labels, key=lambda x: x.id)}

    def consensus(self) -> dict[str, int]:
        """item → the median of its ratings (:func:`median_label`), items sorted."""
        by_item: dict[str, list[int]] = {}
        for label in self.labels:
            by_item.setdefault(label.id, []).append(label.human)
        return {item: median_label(by_item[item]) for item in sorted(by_item)}


def median_label(ratings: list[int]) -> int:
    """The median of an item's ratings as a label of the scale: a median between two labels (an even
    number of raters split) is rounded half to even (2.5 → 2, 3.5 → 4), so on a 1–5 scale the
    split items lean neither up nor down on average, and no row order can change it."""
    return int(round(statistics.median(ratings)))


def _rows(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line, row) pairs of a CSV (header on line 1) or a JSONL file."""
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".jsonl":
        for number, line in enumerate(text.splitlines(), 1):
            if line.strip():
                try:
                    yield number, json.loads(line)
                except json.JSONDecodeError as exc:
                    raise InputError(f"not JSON ({exc.msg})", path=str(path), line=number, code="invalid-json") from exc
        return
    reader = csv.DictReader(text.splitlines())
    for row in reader:
        yield reader.line_num, row


def _integer(value: Any, column: str, where: tuple[str, int], scale: tuple[int, int], empty_ok: bool) -> int | None:
    path, line = where
    if value is None or (isinstance(value, str) and not value.strip()):
        if empty_ok:
            return None
        raise InputError(f"{column} is empty; fill in an integer from {scale[0]} to {scale[1]}", path=path, line=line,
                         code="non-integer-label")
    if isinstance(value, bool) or isinstance(value, float) and not value.is_integer():
        raise InputError(f"{column} {value!r} is not an integer; use {scale[0]}..{scale[1]}", path=path, line=line,
                         code="non-integer-label")
    try:
        number = int(value) if not isinstance(value, str) else int(value.strip())
    except ValueError:
        raise InputError(f"{column} {value!r} is not an integer; use {scale[0]}..{scale[1]}", path=path, line=line,
                         code="non-integer-label") from None
    if not scale[0] <= number <= scale[1]:
        raise InputError(f"{column} {number} is outside the scale {scale[0]}..{scale[1]}; fix the label or pass --scale",
                         path=path, line=line, code="label-out-of-scale")
    return number


def _check_repeat(label: Label, seen: dict[tuple[str, str], Label], path: str) -> None:
    """One rating per (item, rater), and one judge score per item: anything else has no order-free meaning."""
    first = seen.setdefault((label.id, label.rater), label)
    if first is not label:
        who = f"rater {label.rater!r}" if label.rater else "an unnamed rater (no rater column)"
        raise InputError(f"id {label.id!r} is rated twice by {who} (first on line {first.line}); give each rater's rows "
                         "their own rater name, or remove the repeat", path=path, line=label.line, code="duplicate-rating")
    other = seen.setdefault((label.id, "\0judge"), label)  # the item's first row, under a key no rater name has
    if other.judge != label.judge:
        raise InputError(f"id {label.id!r} has judge score {label.judge} here and {other.judge} on line {other.line}; "
                         "one item has one judge score", path=path, line=label.line, code="judge-mismatch")


def read_labels(path: str | Path, scale: tuple[int, int], judge_scores: dict[str, int | None] | None = None) -> LabelSet:
    """Read and validate a labels file; with ``judge_scores`` the ``judge`` column comes from there, joined on ``id``.

    Raises:
        InputError: see the module docstring.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError("labels file not found", path=str(path), code="missing-file")
    labels = []
    seen: dict[tuple[str, str], Label] = {}
    for number, row in _rows(path):
        where = (str(path), number)
        needed = ["human"] + (["id"] if judge_scores is not None else ["judge"])
        missing = [c for c in needed if c not in row]
        if missing:
            hint = "the filled CSV from `harness judge sample` has id and human; pass the judge scores with --judge-scores"
            raise InputError(f"missing column(s) {', '.join(missing)}; {hint}", path=str(path), line=number,
                             code="missing-column")
        item = str(row.get("id") or f"line-{number}")
        if judge_scores is not None and item not in judge_scores:
            raise InputError(f"id {item!r} is not in the judge-scores file; label the items that file scored",
                             path=str(path), line=number, code="id-mismatch")
        judge = judge_scores[item] if judge_scores is not None else _integer(row["judge"], "judge", where, scale, True)
        human = _integer(row["human"], "human", where, scale, False)
        assert human is not None  # empty_ok=False raises instead
        label = Label(item, human, judge, str(row.get("variant") or ""), str(row.get("rater") or ""), number)
        _check_repeat(label, seen, str(path))
        labels.append(label)
    if len({label.human for label in labels}) < 2:
        raise InputError(f"fewer than two distinct human labels in {len(labels)} rows; agreement is undefined: label a "
                         "more varied sample", path=str(path), code="too-few-labels")
    return LabelSet(labels, str(path))


def combine(sets: list[LabelSet]) -> LabelSet:
    """Several labels files (e.g. one per rater from ``harness judge sample --raters``) as one set.

    Raises:
        InputError: an item rated twice by the same rater across the files, or given two judge scores.
    """
    if len(sets) == 1:
        return sets[0]
    seen: dict[tuple[str, str], Label] = {}
    for one in sets:
        for label in one.labels:
            _check_repeat(label, seen, one.path)
    first = sets[0]
    return LabelSet([label for one in sets for label in one.labels], ", ".join(s.path for s in sets), first.judge_identity,
                    first.rubric_sha256, first.retest)
