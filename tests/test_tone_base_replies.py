"""``suites/house_style/tone/write_base_replies.py``: every training prompt's base reply, in order, or a refusal."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "suites/house_style/tone/write_base_replies.py"
TRAIN = ROOT / "suites/house_style/data/split/train.jsonl"


def load_script():
    spec = importlib.util.spec_from_file_location("write_base_replies", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def write_run(folder: Path, skip: int | None = None, error_at: int | None = None) -> Path:
    """A run folder as ``harness eval`` writes it: one result per training case, shuffled (last first)."""
    folder.mkdir()
    lines = []
    for number, line in enumerate(TRAIN.read_text().splitlines(), start=1):
        if number == skip:
            continue
        messages = json.loads(line)["messages"][:-1]
        generation = {"text": f"base reply {number}", "error": "boom" if number == error_at else None}
        lines.append(json.dumps({"case": {"id": f"c{number}", "messages": messages,
                                          "metadata": {"source": f"{TRAIN}:{number}"}}, "generation": generation}))
    (folder / "results.jsonl").write_text("\n".join(reversed(lines)) + "\n")
    return folder


def test_writes_one_chat_line_per_training_prompt_in_training_order(tmp_path):
    out = tmp_path / "base_replies.jsonl"
    assert load_script().main([str(write_run(tmp_path / "run")), "--out", str(out)]) == 0
    written = [json.loads(line) for line in out.read_text().splitlines()]
    train = [json.loads(line) for line in TRAIN.read_text().splitlines()]
    assert len(written) == len(train) == 304
    assert all(w["messages"][:-1] == t["messages"][:-1] for w, t in zip(written, train, strict=True))
    assert [w["messages"][-1] for w in written[:2]] == [{"role": "assistant", "content": "base reply 1"},
                                                        {"role": "assistant", "content": "base reply 2"}]


@pytest.mark.parametrize(("skip", "error_at", "message"), [(7, None, "303 replies for 304 training cases"),
                                                            (None, 5, "has no reply (boom)")])
def test_refuses_a_run_that_lacks_a_reply(tmp_path, capsys, skip, error_at, message):
    out = tmp_path / "base_replies.jsonl"
    assert load_script().main([str(write_run(tmp_path / "run", skip, error_at)), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1 and not out.exists()
