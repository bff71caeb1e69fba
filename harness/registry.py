"""The adapter registry: candidates, each task's current deployment, promotion and rollback.

Layout under the registry root (``$HARNESS_REGISTRY``, default ``./candidates``)::

    <root>/<candidate id>/        adapter, manifest.json, decision.json + decisions/ (after a gate)
    <root>/registry.json          {"tasks": {task: {"current": id, "kind": "adapter", ..., "history": [...]}}}

Promotion rewrites ``registry.json`` atomically; the previous deployment stays in
``history`` for rollback. A candidate is promoted only when its latest decision says
accepted *and* every input the decision hashed is still byte-identical (``force`` exists for
operators, and is recorded on that deployment only). A deployment names what serves the task;
today always an adapter folder (``kind: adapter``), and the record leaves room for other kinds.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
import os
from pathlib import Path

from harness.errors import HarnessError, InputError
from harness.gate.store import LATEST, changed_inputs, load_decision
from harness.registry_index import INDEX, Deployment, TaskEntry, load_index, save_index

log = logging.getLogger(__name__)

REGISTRY_ENV = "HARNESS_REGISTRY"
CURRENT_PREFIX = "current:"


class NotAccepted(HarnessError, PermissionError):
    """Promotion of a candidate the gate did not accept, or whose inputs changed since."""

    code = "not-accepted"


def registry_root(root: str | Path | None = None) -> Path:
    """The registry folder: ``root``, else ``$HARNESS_REGISTRY``, else ``./candidates``."""
    return Path(root or os.environ.get(REGISTRY_ENV) or "candidates")


@dataclasses.dataclass
class CandidateInfo:
    """One line of ``harness registry list``."""

    id: str
    task: str | None
    created_at: str | None
    verdict: str
    """The latest decision's verdict, ``not gated``, or ``damaged`` (see ``problem``)."""
    path: str
    problem: str | None = None
    """Why the manifest or decision could not be read."""


def candidates(root: str | Path | None = None) -> list[CandidateInfo]:
    """Every candidate folder with its task, creation time and verdict; a damaged one is listed and marked."""
    return [_candidate_info(manifest.parent) for manifest in sorted(registry_root(root).glob("*/manifest.json"))]


def _candidate_info(folder: Path) -> CandidateInfo:
    try:
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
        if not isinstance(manifest, dict):
            raise TypeError("not a JSON object")
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, TypeError) as exc:
        return CandidateInfo(folder.name, None, None, "damaged", str(folder), f"manifest.json: {exc}")
    info = CandidateInfo(folder.name, manifest.get("task"), manifest.get("created_at"), "not gated", str(folder))
    if (folder / LATEST).exists():
        try:
            info.verdict = load_decision(folder / LATEST).verdict
        except InputError as exc:
            info.verdict, info.problem = "damaged", f"{LATEST}: {exc.message}"
    return info


def current(task: str, root: str | Path | None = None) -> Path:
    """The folder of a task's current adapter.

    Raises:
        InputError: the task has no current adapter (the message says how to get one).
    """
    root = registry_root(root)
    entry = load_index(root).get(task)
    if not entry or not entry.current:
        raise InputError(f"no current adapter for task {task!r} in {root}: train one with `harness train`, "
                         f"then accept it with `harness gate CANDIDATE --promote`", code="no-adapter")
    return root / entry.current.id


def resolve_adapter(reference: str, root: str | Path | None = None) -> Path:
    """``current:<task>`` → that task's current adapter folder; anything else is a path."""
    if reference.startswith(CURRENT_PREFIX):
        return current(reference.removeprefix(CURRENT_PREFIX), root)
    return Path(reference)


def check_promotable(folder: Path) -> None:
    """The latest decision accepted the candidate exactly as it is now.

    Raises:
        NotAccepted: no decision, not accepted, or an input changed since (the message names which).
        InputError: the decision file is damaged.
    """
    if not (folder / LATEST).exists():
        raise NotAccepted(f"{folder.name} has no gate decision; only an accepted candidate is promoted "
                          f"(run `harness gate {folder}` first)")
    decision = load_decision(folder / LATEST)
    if decision.verdict != "accepted":
        raise NotAccepted(f"{folder.name}'s gate verdict is {decision.verdict}; only an accepted candidate is promoted "
                          f"(run `harness gate {folder}` first)")
    changed = changed_inputs(decision.inputs, folder) if decision.inputs else ["the decision records no input hashes"]
    if changed:
        raise NotAccepted(f"{folder.name} no longer matches its accepted decision: {'; '.join(changed)}; "
                          f"rerun `harness gate {folder}`", code="inputs-changed")


def promote(candidate: str | Path, root: str | Path | None = None, *, force: bool = False) -> TaskEntry:
    """Make an accepted, unchanged candidate its task's current adapter; return the task's new entry.

    Raises:
        InputError: not a candidate folder in the registry, or a damaged file.
        NotAccepted: see :func:`check_promotable` (skipped with ``force``, which is recorded).
    """
    root = registry_root(root)
    folder = Path(candidate) if Path(candidate).is_dir() else root / str(candidate)
    if not (folder / "manifest.json").exists() or folder.resolve().parent != root.resolve():
        raise InputError(f"{candidate} is not a candidate folder of the registry {root}", code="not-a-candidate")
    if not force:
        check_promotable(folder)
    task = _candidate_info(folder).task
    if not isinstance(task, str) or not task:
        raise InputError(f"the manifest names no task (a non-empty string), got {task!r}; only a candidate written by "
                         "`harness train` is promoted", path=str(folder / "manifest.json"), code="bad-manifest")
    index = load_index(root)
    entry = index.setdefault(task, TaskEntry(None))
    if entry.current and entry.current.id != folder.name:
        entry.history.append(entry.current)
    entry.current = Deployment(folder.name, dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), forced=force)
    save_index(root, index)
    return entry


def rollback(task: str, root: str | Path | None = None) -> TaskEntry:
    """Make the previous deployment of ``task`` current again (with its own ``forced`` mark).

    Raises:
        InputError: nothing to roll back to.
    """
    root = registry_root(root)
    index = load_index(root)
    entry = index.get(task)
    if not entry or not entry.history:
        raise InputError(f"task {task!r} has no previous adapter to roll back to", code="no-history")
    entry.current = dataclasses.replace(entry.history.pop(), promoted_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"))
    save_index(root, index)
    return entry


__all__ = ["INDEX", "CandidateInfo", "Deployment", "NotAccepted", "TaskEntry", "candidates", "check_promotable", "current",
           "load_index", "promote", "registry_root", "resolve_adapter", "rollback"]
