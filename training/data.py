"""The three sets, never mixed: training and validation from the training file, the
gate's held-out file kept out of both."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any, NamedTuple

from harness.training.config import TrainConfig
from harness.training.distill import self_distill
from harness.training.labels import tokenize_conversation
from harness.training.replay import plan_replay

from harness.data import assign, leakage, lint, load_examples
from harness.data.hf import to_hf_dataset
from harness.data.lint import LintOptions
from harness.errors import HarnessError, InputError
from harness.fileio import sha256_file
from harness.records import Example, Finding

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
    """Task examples first, then ``replay`` replay examples."""
    validation: list[Example]
    provenance: dict[str, Any]
    replay: int = 0
    """How many of ``train``'s last examples are replay (general examples against forgetting)."""


class DatasetTooSmall(InputError):
    """Too few examples to train on and validate with; reported before any model loads."""

    code = "dataset-too-small"


def prepare_sets(config: TrainConfig) -> TrainingSets:
    """Lint the dataset, carve out validation, mix in replay, and prove the held-out set is absent.

    Everything that can be refused is refused before a model loads; only self-distillation
    (``replay.prompts``) then loads the base model to answer the chosen prompts (or reads
    the answers from the generation cache).

    Raises:
        DatasetRejected: lint errors in the dataset, or held-out examples found in it.
        DatasetTooSmall: empty, one example, or nothing left for training or validation.
        ReplayOverlap: replay overlaps the gate's general items or forgetting text.
    """
    report = lint(config.dataset, LintOptions())
    errors = [f for f in report.findings if f.severity == "error" and f.code != "no-examples"]  # empty: too small, below
    if errors:
        raise DatasetRejected(f"{config.dataset} fails lint with {len(errors)} errors; fix them first", errors)
    examples = load_examples(config.dataset)
    split = assign(examples, config.training.eval_split, config.seed, purpose="validation")
    check_size(config, examples, split.train, split.heldout)
    replay_examples, prompts, replay_provenance = plan_replay(config, len(split.train))
    provenance: dict[str, Any] = {
        "dataset": config.dataset,
        "dataset_sha256": sha256_file(config.dataset),
        "validation": {"method": "harness stable split, purpose=validation", "eval_split": config.training.eval_split,
                       "seed": config.seed, "train": len(split.train), "validation": len(split.heldout)},
    }
    if config.heldout is not None:
        asked = [Example(({"role": "user", "content": p.prompt}, {"role": "assistant", "content": ""}), p.path, p.line)
                 for p in prompts]
        provenance["heldout"] = _assert_no_leak(config.heldout, split.train + replay_examples + asked + split.heldout)
    distilled, distill_provenance = self_distill(config, prompts)
    if distill_provenance:
        replay_provenance["self_distillation"].update(distill_provenance)
    train = split.train + replay_examples + distilled
    provenance["replay_examples"] = len(replay_examples) + len(distilled)
    if replay_provenance:
        provenance["replay"] = replay_provenance
    return TrainingSets(train, split.heldout, provenance, replay=len(replay_examples) + len(distilled))


def check_size(config: TrainConfig, examples: Sequence[Example], train: Sequence[Example],
               validation: Sequence[Example]) -> None:
    """Refuse a dataset too small to train on and validate with.

    Raises:
        DatasetTooSmall: ``path:line`` (line 0: the whole file) and what to do.
    """
    share = config.training.eval_split
    if len(examples) < 2:
        where = "has no examples" if not examples else "has one example"
        raise DatasetTooSmall(f"the dataset {where}; training needs some to train on and at least one to validate with",
                              path=config.dataset, line=examples[0].line if examples else 0)
    if not validation or not train:
        side = "validation" if not validation else "training"
        raise DatasetTooSmall(
            f"none of the {len(examples)} examples falls on the {side} side of the validation carve-out "
            f"(training.eval_split {share}); add examples (at least {max(2, round(2 / share))}) or change training.eval_split",
            path=config.dataset, line=0)


def _assert_no_leak(heldout_path: str, used: Sequence[Example]) -> dict[str, Any]:
    heldout = load_examples(heldout_path)
    leaks = leakage(heldout, used, threshold=0.8)
    if leaks:
        raise DatasetRejected(
            f"{len(leaks)} held-out examples of {heldout_path} reach training or validation; the gate would be meaningless",
            leaks,
        )
    return {"path": heldout_path, "sha256": sha256_file(heldout_path), "examples": len(heldout), "leaks_found": 0}


def tokenize_all(tokenizer: Any, examples: Sequence[Example], max_length: int, *, replay: int = 0) -> Any:
    """A ``datasets.Dataset`` of input_ids, labels and length; over-long examples dropped.

    With ``replay`` > 0 the last ``replay`` examples are marked (column ``replay`` = 1) for the
    replay objective (:mod:`training.anchor`).
    """
    first_replay = len(examples) - replay

    def encode(row: dict[str, Any], index: int) -> dict[str, Any]:
        tokenized = tokenize_conversation(tokenizer, row["messages"])
        encoded = {"input_ids": tokenized.input_ids, "labels": tokenized.labels, "length": len(tokenized.input_ids)}
        return encoded | ({"replay": int(index >= first_replay)} if replay else {})

    dataset = to_hf_dataset(examples)
    encoded = dataset.map(encode, with_indices=True, remove_columns=dataset.column_names, desc="tokenizing")
    kept = encoded.filter(lambda row: row["length"] <= max_length)
    if len(kept) == 0:
        raise DatasetTooSmall(f"every example is longer than training.max_length={max_length} tokens; raise it",
                              path=examples[0].path if examples else None, line=0)
    if len(kept) < len(encoded):
        log.warning("dropped %d examples longer than max_length=%d tokens", len(encoded) - len(kept), max_length)
    return kept
