"""Ladder decisions on disk, beside the registry (the winner may be no adapter folder), bound to their inputs.

    <registry root>/decisions/<task>/ladder.json              the latest ladder decision (what promotion reads)
    <registry root>/decisions/<task>/ladder/<UTC stamp>.json  every ladder decision, never overwritten
    <registry root>/decisions/<task>/variants/<variant>/      `harness gate --variant` decisions (decision.json + decisions/)

The history file is written first, then ``ladder.json``, both atomically.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
from collections.abc import Mapping
from pathlib import Path

from harness.errors import InputError
from harness.fileio import atomic_write_json, sha256_file
from harness.gate.ladder.record import LadderDecision, LadderInputs
from harness.gate.store import changed_inputs
from harness.manifests import CandidateManifest, TrainingData

log = logging.getLogger(__name__)

LATEST = "ladder.json"
HISTORY = "ladder"


def task_folder(root: Path, task: str) -> Path:
    """Where a task's ladder and variant decisions live."""
    return root / "decisions" / task


def variant_folder(root: Path, task: str, variant: str) -> Path:
    """Where ``harness gate --variant`` keeps a variant's decisions."""
    return task_folder(root, task) / "variants" / variant


def write_ladder(decision: LadderDecision, root: Path) -> Path:
    """Add ``decision`` to its task's history and make it the latest; return the history file."""
    folder = task_folder(root, decision.task)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ")
    history = folder / HISTORY / f"{stamp}.json"
    atomic_write_json(history, decision.to_dict())
    atomic_write_json(folder / LATEST, decision.to_dict())
    return history


def load_ladder(path: str | Path) -> LadderDecision:
    """Read a ladder decision file.

    Raises:
        InputError: unreadable or not a ladder decision (the message says how to recover).
    """
    try:
        return LadderDecision.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError) as exc:
        raise InputError(f"damaged ladder decision ({type(exc).__name__}: {exc}); delete it and rerun "
                         "`harness decide --config harness.yaml`", path=str(path), code="bad-decision") from None


def corpus_sha256(path: str | Path) -> str:
    """sha256 of a corpus file, or of a folder's files (their relative paths and bytes, sorted)."""
    path = Path(path)
    if path.is_file():
        return sha256_file(path)
    digest = hashlib.sha256()
    for file in sorted(p for p in path.rglob("*") if p.is_file()):
        digest.update(f"{file.relative_to(path).as_posix()}\0{sha256_file(file)}\n".encode())
    return digest.hexdigest()


def hash_ladder_inputs(config: str | None, cases: str, corpora: Mapping[str, str],
                       adapters: Mapping[str, tuple[Path, CandidateManifest]]) -> LadderInputs:
    """Hash the config, cases, split, each RAG corpus and each adapter candidate (variant → (folder, manifest))."""
    from harness.gate.store import hash_inputs

    split = Path(cases).parent / "split.json"
    bound = {}
    for variant, (folder, manifest) in adapters.items():
        data = manifest.data or TrainingData()
        bound[variant] = hash_inputs(folder, config, cases, data.dataset, data.dataset_sha256)
    return LadderInputs(config, sha256_file(config) if config else None, cases, sha256_file(cases),
                        sha256_file(split) if split.exists() else None,
                        {v: corpus_sha256(p) for v, p in corpora.items()}, bound,
                        {v: str(folder) for v, (folder, _) in adapters.items()})


def changed_ladder_inputs(inputs: LadderInputs, corpora: Mapping[str, str]) -> list[str]:
    """What no longer matches the ladder decision (empty: everything it judged is byte-identical).

    ``corpora`` gives each RAG variant's corpus path (from the decision's rungs).
    """
    problems = []
    split = Path(inputs.cases).parent / "split.json"
    for label, path, recorded in (("eval config", inputs.config, inputs.config_sha256), ("cases", inputs.cases,
                                  inputs.cases_sha256), ("split.json", str(split), inputs.split_sha256)):
        if recorded is None or path is None:
            continue
        if not Path(path).is_file():
            problems.append(f"{label} ({path}) is missing")
        elif sha256_file(path) != recorded:
            problems.append(f"{label} ({path}) changed since the ladder decided")
    for variant, recorded in inputs.corpora.items():
        path = corpora.get(variant)
        if not path or not Path(path).exists():
            problems.append(f"corpus of {variant} ({path}) is missing")
        elif corpus_sha256(path) != recorded:
            problems.append(f"corpus of {variant} ({path}) changed since the ladder decided")
    for variant, hashes in inputs.adapters.items():
        problems += [f"{variant}: {p}" for p in changed_inputs(hashes, Path(inputs.adapter_paths[variant]))]
    return problems
