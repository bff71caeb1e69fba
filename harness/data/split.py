"""``harness split``: a held-out split that is stable under growth.

Each example is assigned by a hash of its seed and its normalised *input* (every
message but the final assistant turn): ``u = sha256(seed, input) / 2**256`` and the
example is held out when ``u < eval_split``. The assignment depends on nothing else,
so adding, removing or reordering other examples never moves an existing one, and
examples with the same input always land on the same side (no input leaks across).
The held-out share is binomial around the request: its standard deviation is
``sqrt(p(1-p)/n)``, about 0.95 points for p = 0.1 and n = 1,000.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NamedTuple

from harness.data.load import load_examples
from harness.data.normalize import conversation_key
from harness.errors import InputError, OutputExistsError
from harness.fileio import (
    atomic_write_json,
    atomic_write_text,
    current_umask,
    held_folder,
    make_folder,
    remove_abandoned,
    sha256_file,
)
from harness.records import Example

SPLIT_METHOD = "sha256(seed, normalised input) < eval_split"
OUTPUT_NAMES = ("train.jsonl", "heldout.jsonl", "split.json")


class Split(NamedTuple):
    """The two sides of a split, each in input order."""

    train: list[Example]
    heldout: list[Example]


def split_score(example: Example, seed: int, purpose: str = "heldout") -> float:
    """The example's position in [0, 1): held out when below the requested share.

    ``purpose`` salts the hash, so carving a validation set out of a training file that
    was itself made by this split (same seed, same share) does not come out empty.
    """
    key = conversation_key(example.prompt_messages)
    salt = "" if purpose == "heldout" else f"{purpose}\0"
    digest = hashlib.sha256(f"{salt}{seed}\0{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def assign(examples: Sequence[Example], eval_split: float, seed: int = 0, purpose: str = "heldout") -> Split:
    """Split examples by :func:`split_score`.

    Raises:
        InputError: ``eval_split`` is not strictly between 0 and 1.
    """
    if not 0.0 < eval_split < 1.0:
        raise InputError(f"eval_split must be between 0 and 1 (exclusive), got {eval_split}", code="bad-eval-split")
    train: list[Example] = []
    heldout: list[Example] = []
    for example in examples:
        (heldout if split_score(example, seed, purpose) < eval_split else train).append(example)
    return Split(train, heldout)


def write_split(data: str | Path, out: str | Path, eval_split: float, seed: int = 0, *, force: bool = False) -> dict[str, Any]:
    """Split a JSONL file into ``out/train.jsonl`` and ``out/heldout.jsonl`` with a manifest.

    The three files are written into a temporary folder beside ``out`` and swapped in
    together, so a failure part-way leaves the previous split exactly as it was.

    Returns:
        The manifest written to ``out/split.json``.

    Raises:
        InputError: the data file fails the chat format or is empty, or ``out`` is a file.
        OutputExistsError: outputs exist and ``force`` is False.
    """
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise InputError("--out must be a folder, and this is a file", path=str(out), code="not-a-folder")
    existing = [name for name in OUTPUT_NAMES if (out / name).exists()]
    if existing and not force:
        raise OutputExistsError(
            f"would overwrite {', '.join(existing)}; pass --force or choose another --out", path=str(out)
        )
    examples = load_examples(data)
    if not examples:
        raise InputError("no examples in this file; give a chat JSONL with one {\"messages\": [...]} per line",
                         path=str(data), code="no-examples")
    split = assign(examples, eval_split, seed)
    make_folder(out.parent)
    for suffix in (".partial", ".old"):  # left by a split killed part-way (no live process holds them)
        remove_abandoned(out.parent, f".{out.name}.*{suffix}")
    with held_folder(out.parent, f".{out.name}.") as staging:
        try:
            manifest = _write_files(staging, data, split, eval_split, seed)
            _swap_in(staging, out)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return manifest


def _write_files(folder: Path, data: str | Path, split: Split, eval_split: float, seed: int) -> dict[str, Any]:
    """Write the two sides and the manifest into ``folder``; return the manifest."""
    for name, side in (("train.jsonl", split.train), ("heldout.jsonl", split.heldout)):
        atomic_write_text(folder / name, "".join(e.to_json_line() + "\n" for e in side))
    manifest = {
        "input": str(data),
        "input_sha256": sha256_file(data),
        "seed": seed,
        "eval_split": eval_split,
        "method": SPLIT_METHOD,
        "counts": {"total": len(split.train) + len(split.heldout), "train": len(split.train), "heldout": len(split.heldout)},
        "heldout_share": round(len(split.heldout) / max(1, len(split.train) + len(split.heldout)), 4),
        "files": {name: sha256_file(folder / name) for name in OUTPUT_NAMES[:2]},
    }
    atomic_write_json(folder / "split.json", manifest)
    return manifest


def _swap_in(staging: Path, out: Path) -> None:
    """Make ``staging``'s files the content of ``out``.

    A folder holding nothing but a split (or no folder yet) is replaced whole by renames. A
    folder that holds other files too (``--out data/``) keeps them: the finished files are
    renamed in one by one, which can no longer fail part-way for lack of space or a crash
    while writing. (Between the two renames of a swap, a crash leaves the old split in the
    hidden ``.<out>.*.old`` folder beside ``out``.)
    """
    os.chmod(staging, 0o777 & ~current_umask())
    if not out.exists():
        os.replace(staging, out)
    elif {p.name for p in out.iterdir()} <= set(OUTPUT_NAMES):
        with held_folder(out.parent, f".{out.name}.", ".old") as old:
            os.replace(out, old / "split")
            os.replace(staging, out)
            shutil.rmtree(old, ignore_errors=True)
    else:
        for name in OUTPUT_NAMES:
            os.replace(staging / name, out / name)
