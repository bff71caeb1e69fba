"""``harness harvest``: ranked queue, PII masked, de-duplicated, provenance, never writes into training data."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.cli.main import main
from harness.monitor.pii import mask_pii

ROOT = Path(__file__).resolve().parents[1]
TRAIN = ROOT / "suites/triage/data/split/train.jsonl"
OK = '{"category": "how_to", "priority": "low", "needs_human": false}'
TOPIC = [t for t in (ROOT / "suites/monitor/data/whiteboards.txt").read_text().splitlines() if t.strip()]


def _line(user: str, reply: str, **extra) -> dict:
    return {"messages": [{"role": "user", "content": user}, {"role": "assistant", "content": reply}], **extra}


def _train_inputs() -> list[str]:
    return [json.loads(t)["messages"][1]["content"] for t in TRAIN.read_text().splitlines()]


@pytest.fixture
def logs(write_jsonl) -> Path:
    rows = [_line(t, OK) for t in TOPIC[:12]]
    rows.append(_line("Why is the export button gone? Mail me at jane.doe@acme.com or +1 415 555 0134", "not json at all"))
    rows.append(_line("The Gantt view freezes when I drag a milestone to next week.", OK,
                      correction='{"category": "bug", "priority": "high", "needs_human": false}'))
    rows.append(_line(_train_inputs()[0], "broken {"))  # a training input: dropped as a duplicate
    rows.append(_line(_train_inputs()[1] + "!", "broken {"))  # near duplicate of a training input
    rows.append(_line("Where do I find the audit log for guest logins?", OK, variant="fine-tuned"))
    rows.append(_line("Where do I find the audit log for guest logins?", '{"category": "security", "priority": "low", '
                      '"needs_human": false}', variant="rag"))
    rows.append(_line("Card 4111 1111 1111 1111 was charged twice for our renewal", OK, judge_score=0.2))
    return write_jsonl("logs.jsonl", rows + ["{bad line"])


def _queue(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_queue_is_ranked_masked_deduplicated_with_provenance(logs, tmp_path):
    out = tmp_path / "queue.jsonl"
    assert main(["harvest", str(logs), "--reference", str(TRAIN), "--out", str(out)]) == 0
    queue = _queue(out)
    reasons = [item["metadata"]["harvest"]["reason"] for item in queue]
    assert reasons[:5] == ["schema-failure", "human-corrected", "novelty", "judge", "variant-disagreement"]
    assert [item["metadata"]["harvest"]["rank"] for item in queue] == list(range(1, len(queue) + 1))
    assert all(item["metadata"]["harvest"]["source"] == str(logs) and item["metadata"]["harvest"]["line"] >= 1 for item in queue)
    text = out.read_text()
    assert "jane.doe" not in text and "555 0134" not in text and "4111" not in text
    assert "[EMAIL]" in text and "[PHONE]" in text and "[CARD]" in text
    inputs = [item["messages"][-2]["content"] for item in queue]
    train = set(_train_inputs()[:2])
    assert not any(i in train or i.rstrip("!") in train for i in inputs), "training inputs must be dropped"
    corrected = next(item for item in queue if item["metadata"]["harvest"]["reason"] == "human-corrected")
    assert '"bug"' in corrected["messages"][-1]["content"], "the person's correction is the reply to review"
    assert main(["lint", str(out)]) == 0, "the queue is chat format as written: a reviewer's file lints without edits"


def test_duplicates_within_the_queue_are_dropped(write_jsonl, tmp_path):
    rows = [_line("The whiteboard eraser removes whole strokes", "broken")] * 3
    rows.append(_line("The whiteboard eraser removes whole strokes.", "broken"))
    out = tmp_path / "queue.jsonl"
    assert main(["harvest", str(write_jsonl("logs.jsonl", rows)), "--reference", str(TRAIN), "--out", str(out)]) == 0
    assert len(_queue(out)) == 1


def test_n_limits_the_queue(logs, tmp_path):
    out = tmp_path / "queue.jsonl"
    assert main(["harvest", str(logs), "--reference", str(TRAIN), "--out", str(out), "--n", "3"]) == 0
    assert len(_queue(out)) == 3


def test_never_writes_into_training_data_or_over_a_file(logs, tmp_path, capsys):
    before = TRAIN.read_bytes()
    assert main(["harvest", str(logs), "--reference", str(TRAIN), "--out", str(TRAIN)]) == 2
    assert TRAIN.read_bytes() == before
    assert "bad-output" in capsys.readouterr().err
    out = tmp_path / "queue.jsonl"
    out.write_text("keep me\n")
    assert main(["harvest", str(logs), "--reference", str(TRAIN), "--out", str(out)]) == 2
    assert out.read_text() == "keep me\n"


def test_bad_reference_exits_2_with_path_line(logs, write_jsonl, tmp_path, capsys):
    reference = write_jsonl("train.jsonl", [_line("hi", OK), {"messages": "nope"}])
    assert main(["harvest", str(logs), "--reference", str(reference), "--out", str(tmp_path / "q.jsonl")]) == 2
    assert f"{reference}:2: messages-missing" in capsys.readouterr().err


def test_reviewed_queue_goes_through_lint(logs, tmp_path, capsys):
    out = tmp_path / "queue.jsonl"
    main(["harvest", str(logs), "--reference", str(TRAIN), "--out", str(out)])
    reviewed = tmp_path / "reviewed.jsonl"
    reviewed.write_text("".join(json.dumps({"messages": item["messages"][:-1] + [{"role": "assistant", "content": OK}]}) + "\n"
                                for item in _queue(out)))
    capsys.readouterr()
    assert main(["lint", str(reviewed), "--heldout", str(TRAIN), "--model", "none"]) == 0


@pytest.mark.parametrize("text, masked", [
    ("write to a.b-c@mail.example.org today", "write to [EMAIL] today"),
    ("ring 030 1234 5678", "ring [PHONE]"),
    ("card 5500-0000-0000-0004", "card [CARD]"),
    ("invoice 2026-11-23 for 1200 seats", "invoice 2026-11-23 for 1200 seats"),
])
def test_pii_masking(text, masked):
    assert mask_pii(text) == masked
