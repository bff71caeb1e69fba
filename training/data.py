"""The three sets, never mixed: training and validation from the training file, the
gate's held-out file kept out of both."""

from __future__ import annotations

import logging
import random
from collections.abc import Sequence
from typing import Any, NamedTuple

from harness.data import assign, leakage, lint, load_examples
from harness.data.hf import to_hf_dataset
from harness.data.lint import LintOptions
from harness.errors import HarnessError
from harness.fileio import sha256_file
from harness.records import Example, Finding
from training.config import TrainConfig
from training.labels import tokenize_conversation

log = logging.getLogger(__name__)


class DatasetRejected(HarnessError, ValueError):
    """The training data fails lint or leaks the held-out set; the findings say where."""

    code = "dataset-rejected"

    def __init__(self, message: str, findings: list[Finding]) -> None:
        super().__init__(message)
        self.findings = findings


class TrainingSets(NamedTuple):
    """Examples for training and validation, and what they were made from."""

    train: list[Example]
    validation: list[Example]
    provenance: dict[str, Any]


def prepare_sets(config: TrainConfig) -> TrainingSets:
    """Lint the dataset, carve out validation, mix in replay, and prove the held-out set is absent.

    Raises:
        DatasetRejected: lint errors in the dataset, or held-out examples found in it.
    """
    report = lint(config.dataset, LintOptions())
    errors = [f for f in report.findings if f.severity == "error"]
    if errors:
        raise DatasetRejected(f"{config.dataset} fails lint with {len(errors)} errors; fix them first", errors)
    examples = load_examples(config.dataset)
    split = assign(examples, config.training.eval_split, config.seed, purpose="validation")
    train = split.train + _replay(config, len(split.train))
    provenance: dict[str, Any] = {
        "dataset": config.dataset,
        "dataset_sha256": sha256_file(config.dataset),
        "validation": {"method": "harness stable split, purpose=validation", "eval_split": config.training.eval_split,
                       "seed": config.seed, "train": len(split.train), "validation": len(split.heldout)},
        "replay_examples": len(train) - len(split.train),
    }
    if config.heldout is not None:
        provenance["heldout"] = _assert_no_leak(config.heldout, train + split.heldout)
    return TrainingSets(train, split.heldout, provenance)


def _replay(config: TrainConfig, n_task: int) -> list[Example]:
    if config.replay.dataset is None or config.replay.share == 0:
        return []
    pool = load_examples(config.replay.dataset)
    count = min(len(pool), round(n_task * config.replay.share))
    return random.Random(config.seed).sample(pool, count)


def _assert_no_leak(heldout_path: str, used: Sequence[Example]) -> dict[str, Any]:
    heldout = load_examples(heldout_path)
    leaks = leakage(heldout, used, threshold=0.8)
    if leaks:
        raise DatasetRejected(
            f"{len(leaks)} held-out examples of {heldout_path} reach training or validation; the gate would be meaningless",
            leaks,
        )
    return {"path": heldout_path, "sha256": sha256_file(heldout_path), "examples": len(heldout), "leaks_found": 0}


def tokenize_all(tokenizer: Any, examples: Sequence[Example], max_length: int) -> Any:
    """A ``datasets.Dataset`` of input_ids, labels and length; over-long examples dropped."""
    def encode(row: dict[str, Any]) -> dict[str, Any]:
        tokenized = tokenize_conversation(tokenizer, row["messages"])
        return {"input_ids": tokenized.input_ids, "labels": tokenized.labels, "length": len(tokenized.input_ids)}

    dataset = to_hf_dataset(examples)
    encoded = dataset.map(encode, remove_columns=dataset.column_names, desc="tokenizing")
    kept = encoded.filter(lambda row: row["length"] <= max_length)
    if len(kept) < len(encoded):
        log.warning("dropped %d examples longer than max_length=%d tokens", len(encoded) - len(kept), max_length)
    return kept
