"""The adapter registry: candidates, each task's current adapter, promotion and rollback.

Layout under the registry root (``$HARNESS_REGISTRY``, default ``./candidates``)::

    <root>/<candidate id>/        adapter, manifest.json, decision.json (after a gate)
    <root>/registry.json          {"tasks": {task: {"current": id, "history": [older ids]}}}

Promotion rewrites ``registry.json`` atomically (temporary file, then rename); the previous
current adapter stays in ``history`` for rollback. A candidate is promoted only when its
``decision.json`` says accepted (``force`` exists for operators, and is recorded).
"""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path
from typing import Any

from harness.errors import HarnessError, InputError
from harness.fileio import atomic_write_json

REGISTRY_ENV = "HARNESS_REGISTRY"
INDEX = "registry.json"
CURRENT_PREFIX = "current:"


class NotAccepted(HarnessError, PermissionError):
    """Promotion of a candidate the gate did not accept."""

    code = "not-accepted"


def registry_root(root: str | Path | None = None) -> Path:
    """The registry folder: ``root``, else ``$HARNESS_REGISTRY``, else ``./candidates``."""
    return Path(root or os.environ.get(REGISTRY_ENV) or "candidates")


def _index(root: Path) -> dict[str, Any]:
    path = root / INDEX
    return json.loads(path.read_text()) if path.exists() else {"tasks": {}}


def candidates(root: str | Path | None = None) -> list[dict[str, Any]]:
    """Every candidate folder with its task, creation time and gate verdict (newest last)."""
    root = registry_root(root)
    found = []
    for folder in sorted(p for p in root.glob("*/manifest.json")):
        manifest = json.loads(folder.read_text())
        decision_path = folder.parent / "decision.json"
        decision = json.loads(decision_path.read_text()) if decision_path.exists() else {}
        found.append({"id": folder.parent.name, "task": manifest.get("task"), "created_at": manifest.get("created_at"),
                      "verdict": decision.get("verdict", "not gated"), "path": str(folder.parent)})
    return found


def current(task: str, root: str | Path | None = None) -> Path:
    """The folder of a task's current adapter.

    Raises:
        InputError: the task has no current adapter (the message says how to get one).
    """
    root = registry_root(root)
    entry = _index(root)["tasks"].get(task)
    if not entry or not entry.get("current"):
        raise InputError(f"no current adapter for task {task!r} in {root}: train one with `harness train`, "
                         f"then accept it with `harness gate CANDIDATE --promote`", code="no-adapter")
    return root / entry["current"]


def resolve_adapter(reference: str, root: str | Path | None = None) -> Path:
    """``current:<task>`` → that task's current adapter folder; anything else is a path."""
    if reference.startswith(CURRENT_PREFIX):
        return current(reference.removeprefix(CURRENT_PREFIX), root)
    return Path(reference)


def promote(candidate: str | Path, root: str | Path | None = None, *, force: bool = False) -> dict[str, Any]:
    """Make an accepted candidate its task's current adapter; return the task's new entry.

    Raises:
        InputError: not a candidate folder in the registry.
        NotAccepted: its decision is missing or not ``accepted`` and ``force`` is False.
    """
    root = registry_root(root)
    folder = Path(candidate) if Path(candidate).is_dir() else root / str(candidate)
    if not (folder / "manifest.json").exists() or folder.resolve().parent != root.resolve():
        raise InputError(f"{candidate} is not a candidate folder of the registry {root}", code="not-a-candidate")
    decision_path = folder / "decision.json"
    verdict = json.loads(decision_path.read_text()).get("verdict") if decision_path.exists() else None
    if verdict != "accepted" and not force:
        raise NotAccepted(f"{folder.name}'s gate verdict is {verdict or 'missing'}; only an accepted candidate is promoted "
                          f"(run `harness gate {folder}` first)")
    task = json.loads((folder / "manifest.json").read_text()).get("task") or "default"
    index = _index(root)
    entry = index["tasks"].setdefault(task, {"current": None, "history": []})
    if entry["current"] and entry["current"] != folder.name:
        entry["history"].append(entry["current"])
    entry.update(current=folder.name, promoted_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), forced=force)
    atomic_write_json(root / INDEX, index)
    return entry


def rollback(task: str, root: str | Path | None = None) -> dict[str, Any]:
    """Make the previous adapter of ``task`` current again.

    Raises:
        InputError: nothing to roll back to.
    """
    root = registry_root(root)
    index = _index(root)
    entry = index["tasks"].get(task)
    if not entry or not entry.get("history"):
        raise InputError(f"task {task!r} has no previous adapter to roll back to", code="no-history")
    entry["current"] = entry["history"].pop()
    entry["promoted_at"] = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    atomic_write_json(root / INDEX, index)
    return entry
