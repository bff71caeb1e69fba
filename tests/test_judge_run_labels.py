"""Labels on a run's outputs (``gate.judge.labels``): matched by case id and output hash, order-free, validated."""

from __future__ import annotations

import csv
import random
from pathlib import Path

import pytest

from harness.errors import InputError
from harness.judge.run_labels import match_labels, output_sha256, read_run_labels

SCALE = (1, 5)
OUTPUTS = {("c1", "base"): "Sure, here is your refund.", ("c1", "ft"): "Refund issued; anything else?",
           ("c2", "base"): "No.", ("c2", "ft"): "No.",  # both variants wrote the same text
           ("c3", "base"): "Please wait.", ("c3", "ft"): "Done: your plan is upgraded."}


def _write(path: Path, rows: list[dict[str, str]]) -> Path:
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, ["id", "case_id", "variant", "output_sha256", "rater", "output", "human"])
        writer.writeheader()
        writer.writerows(rows)
    return path


def _row(case: str, text: str, human: int, rater: str = "ann", variant: str = "") -> dict[str, str]:
    return {"id": f"{case}:{variant}:0", "case_id": case, "variant": variant, "output_sha256": output_sha256(text),
            "rater": rater, "output": text, "human": str(human)}


def _rows() -> list[dict[str, str]]:
    rows = [_row("c1", OUTPUTS[("c1", "base")], 2, r) for r in ("ann", "bob", "cy")]
    rows[1]["human"] = "4"  # ann 2, bob 4, cy 2: median 2
    rows += [_row("c1", OUTPUTS[("c1", "ft")], h, r) for h, r in ((4, "ann"), (5, "bob"))]  # median 4.5 → 4
    rows += [_row("c2", "No.", 1, "ann", "base"), _row("c2", "No.", 1, "ann", "ft")]  # one text, rated once each row
    rows += [_row("c3", "Please wait, a supervisor will call.", 3)]  # a text the run did not write
    return rows


def test_labels_attach_by_case_and_output_hash_and_a_changed_text_is_not_used(tmp_path) -> None:
    labels = read_run_labels(_write(tmp_path / "labels.csv", _rows()), SCALE)
    matched = match_labels(labels, OUTPUTS)
    assert matched.human == {("c1", "base"): 2, ("c1", "ft"): 4, ("c2", "base"): 1, ("c2", "ft"): 1}
    assert matched.unmatched == 1  # the c3 label names a text nobody in this run wrote: not attached to c3's outputs
    elsewhere = match_labels(labels, {("c9", "base"): OUTPUTS[("c1", "base")]})  # same text, another case
    assert elsewhere.human == {} and elsewhere.unmatched == 4


def test_reordering_the_rows_changes_nothing(tmp_path) -> None:
    rows = _rows()
    first = match_labels(read_run_labels(_write(tmp_path / "a.csv", rows), SCALE), OUTPUTS)
    for seed in range(5):
        shuffled = random.Random(seed).sample(rows, len(rows))
        again = match_labels(read_run_labels(_write(tmp_path / f"s{seed}.csv", shuffled), SCALE), OUTPUTS)
        assert again == first


def test_bad_labels_name_the_line_and_what_to_do(tmp_path) -> None:
    rows = _rows()
    path = tmp_path / "old.csv"
    path.write_text("id,human\nc1:base:0,3\n")
    with pytest.raises(InputError, match="missing column.*case_id, output_sha256.*harness judge sample") as exc:
        read_run_labels(path, SCALE)
    assert exc.value.line == 2
    bad_hash = [dict(rows[0], output_sha256="abc")]
    with pytest.raises(InputError, match="not a sha256"):
        read_run_labels(_write(tmp_path / "hash.csv", bad_hash), SCALE)
    conflicting = [rows[0], dict(rows[0], human="5")]
    with pytest.raises(InputError, match="rated 5 here and 2 on line 2 by rater 'ann'") as exc:
        read_run_labels(_write(tmp_path / "twice.csv", conflicting), SCALE)
    assert exc.value.line == 3
    with pytest.raises(InputError, match="outside the scale"):
        read_run_labels(_write(tmp_path / "scale.csv", [dict(rows[0], human="7")]), SCALE)
    with pytest.raises(InputError, match="empty"):
        read_run_labels(_write(tmp_path / "empty.csv", [dict(rows[0], human="")]), SCALE)
