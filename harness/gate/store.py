"""Decisions on disk: every attempt kept, ``decision.json`` the latest, inputs bound to bytes.

    <candidate>/decisions/<UTC timestamp>.json   every decision, never overwritten
    <candidate>/decision.json                    a copy of the latest (what `registry promote` reads)

The history file is written first, then ``decision.json``, both atomically.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from pathlib import Path

from harness.errors import InputError
from harness.eval.cases import split_sha256
from harness.fileio import atomic_write_json, sha256_file
from harness.gate.decision import Decision, InputHashes
from harness.history import index_decision

log = logging.getLogger(__name__)

LATEST = "decision.json"
HISTORY = "decisions"


def load_decision(path: str | Path) -> Decision:
    """Read a decision file of any schema version.

    Raises:
        InputError: the file is unreadable or not a decision (the message names it and how to recover).
    """
    try:
        return Decision.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError) as exc:
        raise InputError(f"damaged decision file ({type(exc).__name__}: {exc}); delete it and rerun "
                         "`harness gate CANDIDATE` to decide again", path=str(path), code="bad-decision") from None


def write_decision(decision: Decision, candidate: Path) -> Path:
    """Add ``decision`` to the candidate's history and make it the latest; return the history file."""
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ")
    history = candidate / HISTORY / f"{stamp}.json"
    atomic_write_json(history, decision.to_dict())
    atomic_write_json(candidate / LATEST, decision.to_dict())
    index_decision(candidate / LATEST, quiet=True)  # the report's decision log; never fails the gate
    return history


def decision_history(candidate: Path) -> list[Path]:
    """The candidate's decision files, oldest first."""
    return sorted((candidate / HISTORY).glob("*.json"))


def hash_inputs(candidate: Path, config: str | None, cases: str, training_dataset: str | None,
                training_dataset_sha256: str | None) -> InputHashes:
    """Hash everything that changes what the gate judges.

    ``training_dataset_sha256`` is the hash the manifest recorded at training time (the leakage
    check compares the file against it).

    Raises:
        InputError: a file cannot be read (the message names it).
    """
    try:
        return _hash_inputs(candidate, config, cases, training_dataset, training_dataset_sha256)
    except OSError as exc:
        raise InputError(f"cannot read {exc.filename or 'an input of the gate'}: {exc.strerror or exc}", path=exc.filename,
                         code="unreadable-input") from None


def _hash_inputs(candidate: Path, config: str | None, cases: str, training_dataset: str | None,
                 training_dataset_sha256: str | None) -> InputHashes:
    return InputHashes(
        candidate_adapter_sha256=sha256_file(candidate / "adapter_model.safetensors"),
        candidate_adapter_config_sha256=sha256_file(candidate / "adapter_config.json"),
        candidate_manifest_sha256=sha256_file(candidate / "manifest.json"),
        cases=cases, cases_sha256=sha256_file(cases), split_sha256=split_sha256(cases),
        config=str(Path(config).resolve()) if config else None, config_sha256=sha256_file(config) if config else None,
        training_dataset=training_dataset, training_dataset_sha256=training_dataset_sha256,
    )


def changed_inputs(inputs: InputHashes, candidate: Path) -> list[str]:
    """What no longer matches the decision: ``"adapter_config.json changed"``, ``"... is missing"``, ... (empty: all match).

    A schema-1 decision does not bind the adapter config, so it never verifies: the gate must
    decide again.
    """
    if inputs.candidate_adapter_config_sha256 is None:
        return ["adapter_config.json is not bound by this decision (written before schema 2); rerun `harness gate`"]
    problems = []
    for label, (path, recorded) in inputs.files(candidate).items():
        if recorded is None:
            continue
        if path is None or not path.is_file():
            problems.append(f"{label} ({path}) is missing")
        elif sha256_file(path) != recorded:
            problems.append(f"{label} ({path}) changed since the gate decided")
    return problems
