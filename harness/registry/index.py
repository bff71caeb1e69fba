"""``registry.json``: each task's current deployment and the ones before it, as typed records.

Older files (history as bare ids, ``forced`` only on the current entry) still read.

Every change (promotion, rollback) is a read-modify-write under an exclusive lock on
``registry.json.lock`` (:func:`updating_index`), so two processes promoting at once are
serialised: the second waits (saying so once) and then applies its change on top of the first,
never on the state both read. The lock is an OS file lock: a killed holder releases it at once.
Readers take no lock: the file is always replaced whole (atomic rename).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout

from harness.errors import InputError
from harness.fileio import atomic_write_json, make_folder

INDEX = "registry.json"
LOCK = "registry.json.lock"
LOCK_TIMEOUT_S = 120.0
"""How long a promotion or rollback waits for another one holding the registry before it gives up (exit 2)."""

log = logging.getLogger(__name__)


@dataclasses.dataclass
class Deployment:
    """What serves a task (or served it, in ``history``)."""

    id: str
    """The candidate folder's name under the registry root."""
    promoted_at: str | None = None
    forced: bool = False
    """Promoted with ``--force`` (without a verified accept)."""
    kind: str = "adapter"
    """What ``id`` names: ``adapter`` (a candidate folder), or ``prompt`` / ``rag`` (a variant of the task's config)."""
    corpus_sha256: str | None = None
    """For ``rag``: the corpus the ladder judged."""
    decision: str | None = None
    """The decision file that accepted it, relative to the registry root."""

    @classmethod
    def from_json(cls, data: Any) -> Deployment:
        """A history item: a bare id (older registries) or a deployment object."""
        if isinstance(data, str):
            return cls(data)
        return cls(str(data["id"]), data.get("promoted_at"), bool(data.get("forced", False)), data.get("kind") or "adapter",
                   data.get("corpus_sha256"), data.get("decision"))

    def describe(self) -> str:
        """``rag (rag, corpus 1a2b3c4d5e6f)``, ``triage-20261130 (adapter, forced)``."""
        extra = [self.kind] + ([f"corpus {self.corpus_sha256[:12]}"] if self.corpus_sha256 else []) + (
            ["forced"] if self.forced else [])
        return f"{self.id} ({', '.join(extra)})"


@dataclasses.dataclass
class TaskEntry:
    """One task's current deployment and the ones before it (newest last)."""

    current: Deployment | None
    history: list[Deployment] = dataclasses.field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """The entry as ``registry.json`` holds it (the current deployment's fields flat, for older readers)."""
        flat = dataclasses.asdict(self.current) if self.current else {"id": None}
        flat["current"] = flat.pop("id")
        return {**flat, "history": [dataclasses.asdict(d) for d in self.history]}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TaskEntry:
        """Read an entry written by :meth:`to_json` or by older versions."""
        current = data.get("current")
        deployment = Deployment.from_json({**data, "id": current}) if current else None
        return cls(deployment, [Deployment.from_json(item) for item in data.get("history") or []])


def load_index(root: Path) -> dict[str, TaskEntry]:
    """Every task's entry from ``registry.json`` (none when there is no file).

    Raises:
        InputError: the file is damaged (the message names it and how to recover).
    """
    path = root / INDEX
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return {str(task): TaskEntry.from_json(entry) for task, entry in data["tasks"].items()}
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError, AttributeError) as exc:
        raise InputError(f"damaged registry index ({type(exc).__name__}: {exc}); restore it from a backup, or delete it "
                         "and promote each task's adapter again with `harness registry promote`", path=str(path),
                         code="bad-registry") from None


def save_index(root: Path, index: dict[str, TaskEntry]) -> None:
    """Write ``registry.json`` atomically."""
    atomic_write_json(root / INDEX, {"tasks": {task: entry.to_json() for task, entry in index.items()}})


@contextmanager
def updating_index(root: Path, timeout_s: float = LOCK_TIMEOUT_S) -> Iterator[dict[str, TaskEntry]]:
    """The registry's index, read under its exclusive lock and written back (atomically) when the block ends.

    A block that raises writes nothing. While another process holds the lock this waits, with one
    line on stderr, for up to ``timeout_s`` seconds.

    Raises:
        InputError: the lock was not free within ``timeout_s`` (``registry-busy``), or the index is damaged.
    """
    make_folder(root)
    lock = FileLock(root / LOCK)
    started = time.monotonic()
    try:
        lock.acquire(timeout=0.5)
    except Timeout:
        print(f"harness: waiting for another process that is changing the registry ({root / LOCK})", file=sys.stderr)
        try:
            lock.acquire(timeout=max(0.0, timeout_s - (time.monotonic() - started)))
        except Timeout:
            raise InputError(f"another process has held the registry lock for over {timeout_s:.0f} s; wait for it to "
                             "finish and retry (a stopped process releases the lock itself)", path=str(root / LOCK),
                             code="registry-busy") from None
    try:
        waited = time.monotonic() - started
        if waited > 0.5:
            log.info("registry lock acquired after %.2f s", waited)
        index = load_index(root)
        yield index
        save_index(root, index)
    finally:
        lock.release()
