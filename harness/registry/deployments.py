"""Each task's current deployment in the adapter registry, read without the gate.

``harness eval`` resolves ``current:<task>`` through here; promotion and rollback (which read
gate decisions) are :mod:`harness.gate.promote`.
"""

from __future__ import annotations

import os
from pathlib import Path

from harness.errors import InputError
from harness.registry.index import Deployment, load_index

REGISTRY_ENV = "HARNESS_REGISTRY"
CURRENT_PREFIX = "current:"


def registry_root(root: str | Path | None = None) -> Path:
    """The registry folder: ``root``, else ``$HARNESS_REGISTRY``, else ``./candidates``."""
    return Path(root or os.environ.get(REGISTRY_ENV) or "candidates")


def current(task: str, root: str | Path | None = None, config: str | None = None) -> Path:
    """The folder of a task's current adapter (``config``: the eval config the message should name).

    Raises:
        InputError: the task has no current adapter (the message says how to get one).
    """
    root = registry_root(root)
    entry = load_index(root).get(task)
    if not entry or not entry.current:
        raise InputError(f"no current adapter for task {task!r} in {root}: train one with `harness train`, "
                         f"then let the ladder choose and deploy: `harness decide --config {config or 'harness.yaml'} --promote`",
                         code="no-adapter")
    if entry.current.kind != "adapter":
        raise InputError(f"task {task!r} is served by the {entry.current.kind} variant {entry.current.id!r}, not an "
                         "adapter", code="no-adapter")
    return root / entry.current.id


def deployment(task: str, root: str | Path | None = None, config: str | None = None) -> Deployment:
    """A task's current deployment, whatever its kind.

    Raises:
        InputError: the task has no deployment (one line saying how to make one).
    """
    root = registry_root(root)
    entry = load_index(root).get(task)
    if not entry or not entry.current:
        raise InputError(f"task {task!r} has no deployment in {root}: run `harness decide --config "
                         f"{config or 'harness.yaml'} --promote`", code="no-deployment")
    return entry.current


def resolve_adapter(reference: str, root: str | Path | None = None, config: str | None = None) -> Path:
    """``current:<task>`` → that task's current adapter folder; anything else is a path."""
    if reference.startswith(CURRENT_PREFIX):
        return current(reference.removeprefix(CURRENT_PREFIX), root, config)
    return Path(reference)
