"""``harness split``: stable under growth, same input same side, share, manifest, overwrite rules."""

from __future__ import annotations

import json
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.data.load import load_examples
from harness.data.split import assign, write_split
from harness.errors import InputError, OutputExistsError
from harness.fileio import sha256_file
from harness.records import Example


def _example(user: str, assistant: str = "ok", line: int = 1) -> Example:
    messages = ({"role": "user", "content": user}, {"role": "assistant", "content": assistant})
    return Example(messages, "data.jsonl", line)


def _sides(examples: list[Example], eval_split: float, seed: int) -> dict[str, str]:
    split = assign(examples, eval_split, seed)
    return {
        **{e.messages[0]["content"]: "train" for e in split.train},
        **{e.messages[0]["content"]: "heldout" for e in split.heldout},
    }


@settings(max_examples=100, deadline=None)
@given(
    texts=st.lists(st.text(min_size=1, max_size=40), min_size=1, max_size=60, unique=True),
    cut=st.integers(min_value=0, max_value=60),
    seed=st.integers(min_value=0, max_value=2**31),
    eval_split=st.floats(min_value=0.05, max_value=0.95),
    shuffle_seed=st.integers(min_value=0, max_value=2**31),
)
def test_growing_the_dataset_never_moves_an_existing_example(texts, cut, seed, eval_split, shuffle_seed):
    original = [_example(t) for t in texts[:cut]]
    grown = original + [_example(t) for t in texts[cut:]]
    random.Random(shuffle_seed).shuffle(grown)
    before, after = _sides(original, eval_split, seed), _sides(grown, eval_split, seed)
    assert len(after) == len(texts)
    assert all(after[text] == side for text, side in before.items())


def test_same_input_lands_on_the_same_side():
    inputs = [f"Question number {i}?" for i in range(200)]
    examples = [_example(q, answer) for q in inputs for answer in ("yes", "no", "maybe")]
    examples += [_example(q.upper() + "  ", "shouted") for q in inputs]  # same input once normalised
    split = assign(examples, 0.3, seed=1)
    held = {e.messages[0]["content"].strip().lower() for e in split.heldout}
    kept = {e.messages[0]["content"].strip().lower() for e in split.train}
    assert held and kept and not held & kept
    assert len(split.heldout) == 4 * len(held)


@pytest.mark.parametrize("seed", range(5))
def test_heldout_share_is_close_to_the_request(seed):
    examples = [_example(f"Distinct question {i}: what is {i} squared?") for i in range(2000)]
    split = assign(examples, 0.1, seed)
    assert len(split.train) + len(split.heldout) == 2000
    assert abs(len(split.heldout) / 2000 - 0.1) <= 0.02


def test_seeds_give_different_splits():
    examples = [_example(f"Distinct question {i}?") for i in range(500)]
    assert _sides(examples, 0.2, 0) != _sides(examples, 0.2, 1)


@pytest.mark.parametrize("eval_split", [0.0, 1.0, -0.1, 1.5, float("nan")])
def test_eval_split_outside_zero_one_is_refused(eval_split):
    with pytest.raises(InputError, match="eval_split"):
        assign([_example("hi")], eval_split)


@pytest.fixture
def data(write_jsonl, make_chat):
    return write_jsonl("data.jsonl", [make_chat(f"Question {i}: capital of country {i}?", f"City {i}.") for i in range(300)])


def test_write_split_writes_files_and_manifest(data, tmp_path):
    out = tmp_path / "out"
    manifest = write_split(data, out, 0.2, seed=3)
    assert sorted(p.name for p in out.iterdir()) == ["heldout.jsonl", "split.json", "train.jsonl"]
    assert json.loads((out / "split.json").read_text()) == manifest
    assert manifest["input_sha256"] == sha256_file(data)
    assert manifest["seed"] == 3
    train, heldout = load_examples(out / "train.jsonl"), load_examples(out / "heldout.jsonl")
    assert manifest["counts"] == {"total": 300, "train": len(train), "heldout": len(heldout)}
    assert len(train) + len(heldout) == 300 and heldout
    assert manifest["files"] == {name: sha256_file(out / name) for name in ("train.jsonl", "heldout.jsonl")}
    original = [e.messages for e in load_examples(data)]
    assert sorted(map(str, [e.messages for e in train + heldout])) == sorted(map(str, original))
    expected = assign(load_examples(data), 0.2, 3)
    assert [e.messages for e in heldout] == [e.messages for e in expected.heldout]


def test_write_split_refuses_to_overwrite_without_force(data, tmp_path):
    out = tmp_path / "out"
    write_split(data, out, 0.2, seed=0)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    with pytest.raises(OutputExistsError, match="--force"):
        write_split(data, out, 0.5, seed=7)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    manifest = write_split(data, out, 0.5, seed=7, force=True)
    assert manifest["seed"] == 7 and manifest["eval_split"] == 0.5
    assert json.loads((out / "split.json").read_text())["seed"] == 7
    assert (out / "heldout.jsonl").read_bytes() != before["heldout.jsonl"]
    assert manifest["files"]["heldout.jsonl"] == sha256_file(out / "heldout.jsonl")


def test_one_existing_output_is_enough_to_refuse(data, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "split.json").write_text("{}")
    with pytest.raises(OutputExistsError, match="split.json"):
        write_split(data, out, 0.1)
    assert [p.name for p in out.iterdir()] == ["split.json"]


def test_invalid_input_writes_nothing(tmp_path, make_chat):
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps(make_chat("hi", "hello")) + "\n{not json\n")
    out = tmp_path / "out"
    with pytest.raises(InputError) as caught:
        write_split(bad, out, 0.1)
    assert caught.value.line == 2 and caught.value.code == "invalid-json"
    assert not out.exists()


def _disk_full_at(monkeypatch, name: str) -> None:
    """Make writing ``name`` fail (disk full) after the files before it were written."""
    import errno

    import harness.data.split as split_module

    for writer in ("atomic_write_text", "atomic_write_json"):
        real = getattr(split_module, writer)

        def write(path, content, real=real):
            if path.name == name:
                raise OSError(errno.ENOSPC, "No space left on device", str(path))
            real(path, content)

        monkeypatch.setattr(split_module, writer, write)


@pytest.mark.parametrize("failing", ["heldout.jsonl", "split.json"])
def test_force_failing_part_way_leaves_the_old_split_intact(data, tmp_path, monkeypatch, failing):
    out = tmp_path / "out"
    write_split(data, out, 0.2, seed=0)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    _disk_full_at(monkeypatch, failing)
    with pytest.raises(OSError, match="No space"):
        write_split(data, out, 0.5, seed=7, force=True)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no staging folder left behind


def test_force_keeps_other_files_in_the_out_folder(data, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    write_split(data, out, 0.2, seed=0)
    manifest = write_split(data, out, 0.5, seed=7, force=True)
    assert (out / "notes.txt").read_text() == "mine"
    assert sorted(p.name for p in out.iterdir()) == ["heldout.jsonl", "notes.txt", "split.json", "train.jsonl"]
    assert manifest["files"]["train.jsonl"] == sha256_file(out / "train.jsonl")


def test_out_that_is_a_file_is_refused(data, tmp_path):
    with pytest.raises(InputError, match="must be a folder"):
        write_split(data, data, 0.2)
