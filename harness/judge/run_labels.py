"""People's labels on a run's outputs, matched to the outputs by case id and the hash of the output text.

This is the file ``gate.judge.labels`` names: the sheet ``harness judge sample RUN_DIR --uniform``
writes, with its ``human`` column filled in. CSV (header on line 1) or JSONL, one row per rating:

* ``case_id``: the case the output answers;
* ``output_sha256``: the sha256 of the output text (UTF-8), as the sheet writes it;
* ``human``: the rating, an integer on the rubric's scale;
* ``rater`` (optional): who rated it; several raters on one output are reduced to their median
  (:func:`~harness.judge.labels.median_label`).

Other columns (``id``, ``variant``, ``input``, ``output``) are there for the labeller and are not
read. A label counts for an output of the run only when both the case id and the hash of that
output's text match, so a label on an earlier text of the case (another adapter, other decoding,
a regenerated reply) is never attached to a reply nobody read; the label then applies to every
variant that wrote exactly that text. Nothing depends on the order of the rows.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from harness.errors import InputError
from harness.judge.labels import _integer, _rows, median_label

Key = tuple[str, str]
"""(case id, variant)."""
COLUMNS = ("case_id", "output_sha256", "human")
"""The columns a labels file on a run's outputs must have."""


def output_sha256(text: str) -> str:
    """The hash a label names its output by: sha256 of the text's UTF-8 bytes."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class RunLabel:
    """One person's rating of one output text of one case."""

    case_id: str
    """The case."""
    output_sha256: str
    """The hash of the rated text."""
    human: int
    """The rating."""
    rater: str
    """Who rated it ("" when the file has no rater column)."""
    line: int
    """Line in the labels file."""


@dataclass(frozen=True)
class RunLabels:
    """A validated labels file on a run's outputs."""

    labels: tuple[RunLabel, ...]
    """Every rating."""
    path: str
    """The file."""

    def consensus(self) -> dict[tuple[str, str], int]:
        """(case id, output sha256) → the median of its ratings, keys sorted."""
        by_output: dict[tuple[str, str], list[int]] = {}
        for label in self.labels:
            by_output.setdefault((label.case_id, label.output_sha256), []).append(label.human)
        return {key: median_label(by_output[key]) for key in sorted(by_output)}


def read_run_labels(path: str | Path, scale: tuple[int, int]) -> RunLabels:
    """Read and validate a labels file on a run's outputs (format in the module docstring).

    Raises:
        InputError: a missing file or column, an empty or non-integer or out-of-scale rating, a hash that is not
            64 hex digits, or one rater giving the same output two different ratings (the same rating twice, as when
            two variants wrote the same text, is one rating).
    """
    path = Path(path)
    if not path.is_file():
        raise InputError("labels file not found; write it with `harness judge sample RUN_DIR --uniform`", path=str(path),
                         code="missing-file")
    labels: list[RunLabel] = []
    seen: dict[tuple[str, str, str], RunLabel] = {}
    for number, row in _rows(path):
        missing = [c for c in COLUMNS if c not in row]
        if missing:
            raise InputError(f"missing column(s) {', '.join(missing)}; labels on a run's outputs name the case and the "
                             "output's hash: fill in the sheet `harness judge sample RUN_DIR --uniform` writes",
                             path=str(path), line=number, code="missing-column")
        digest = str(row["output_sha256"] or "").strip().lower()
        if len(digest) != 64 or any(ch not in "0123456789abcdef" for ch in digest):
            raise InputError(f"output_sha256 {row['output_sha256']!r} is not a sha256 (64 hex digits); keep the column "
                             "as the sheet wrote it", path=str(path), line=number, code="bad-hash")
        human = _integer(row["human"], "human", (str(path), number), scale, False)
        assert human is not None  # empty_ok=False raises instead
        label = RunLabel(str(row["case_id"]), digest, human, str(row.get("rater") or ""), number)
        first = seen.setdefault((label.case_id, label.output_sha256, label.rater), label)
        if first is not label:  # two variants that wrote the same text give the same output twice: one rating of it
            if first.human != label.human:
                who = f"rater {label.rater!r}" if label.rater else "an unnamed rater (no rater column)"
                raise InputError(f"case {label.case_id!r}, output {digest[:12]} is rated {label.human} here and "
                                 f"{first.human} on line {first.line} by {who}; one text has one rating per rater: give "
                                 "each rater's rows their own rater name, or settle the rating", path=str(path),
                                 line=number, code="duplicate-rating")
            continue
        labels.append(label)
    return RunLabels(tuple(labels), str(path))


@dataclass(frozen=True)
class MatchedLabels:
    """People's consensus labels attached to a run's outputs."""

    human: dict[Key, int]
    """(case id, variant) → the consensus label of the output that variant wrote for the case."""
    unmatched: int
    """Labelled (case, output hash) pairs that no output of the run has: labels on other texts, not used."""


def match_labels(labels: RunLabels, outputs: Mapping[Key, str]) -> MatchedLabels:
    """Attach each consensus label to the run's outputs with the same case id and text hash.

    Args:
        labels: the labels file.
        outputs: (case id, variant) → the output text of the run.
    """
    consensus = labels.consensus()
    human: dict[Key, int] = {}
    used: set[tuple[str, str]] = set()
    for key in sorted(outputs):
        label_key = (key[0], output_sha256(outputs[key]))
        if label_key in consensus:
            human[key] = consensus[label_key]
            used.add(label_key)
    return MatchedLabels(human, len(set(consensus) - used))
