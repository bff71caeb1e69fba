"""``harness history import``: find run folders and decisions under folders and index each whole.

A folder holding ``manifest.json`` or ``results.jsonl`` is a run unless its manifest is a
candidate's; ``*.partial`` folders are interrupted writes. Anything unreadable is reported by
path and skipped; every run is its own transaction, so nothing is ever half-indexed.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from harness.errors import CorruptArtifact
from harness.fileio import disk_full, is_held, is_no_space
from harness.history.schema import connect
from harness.history.store import default_store_path, write_decision, write_run
from harness.manifests import CandidateManifest, read_manifest

log = logging.getLogger(__name__)


@dataclass
class ImportSummary:
    """What an import did."""

    indexed: list[str] = field(default_factory=list)
    """Runs and decisions newly indexed (or re-indexed because their content changed)."""
    unchanged: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    """``path: why`` for every corrupt or half-written artifact (nothing of it is indexed)."""


def import_paths(paths: Iterable[str | Path], store_path: str | Path | None = None) -> ImportSummary:
    """Index every run folder and ``decision.json`` under ``paths`` (idempotent).

    A folder holding ``manifest.json`` or ``results.jsonl`` is a run unless its manifest is a
    candidate's; ``*.partial`` folders (interrupted writes) are reported as skipped.
    """
    summary = ImportSummary()
    store = Path(store_path or default_store_path())
    try:
        _import_into(store, paths, summary)
    except sqlite3.OperationalError as exc:
        if is_no_space(exc):  # the transaction of the run being written was rolled back: the store is as it was
            raise disk_full(store) from None
        raise
    return summary


def _import_into(store: Path, paths: Iterable[str | Path], summary: ImportSummary) -> None:
    from harness.history.readers import read_decision, read_run

    conn = connect(store)
    try:
        for kind, path in _discover(paths):
            if kind == "partial":
                summary.skipped.append(f"{path}: a run still being written by a live process; import again once it ends"
                                       if is_held(path) else
                                       f"{path}: half-written run folder of a process that was killed; the next "
                                       "`harness eval` into this folder removes it (or delete it)")
                continue
            try:
                changed = write_run(conn, read_run(path)) if kind == "run" else write_decision(conn, read_decision(path))
            except CorruptArtifact as exc:
                log.warning("skipped %s", exc)
                summary.skipped.append(str(exc))
                continue
            (summary.indexed if changed else summary.unchanged).append(str(path))
    finally:
        conn.close()


def _discover(paths: Iterable[str | Path]) -> Iterable[tuple[str, Path]]:
    for root in map(Path, paths):
        folders = {p.parent for name in ("manifest.json", "results.jsonl") for p in root.rglob(name)}
        for folder in sorted(folders):
            if any(part.endswith(".partial") for part in folder.relative_to(root).parts):
                continue  # reported below: an interrupted write never reaches the store
            if not _is_candidate(folder):
                yield "run", folder
        yield from (("partial", p) for p in sorted(root.rglob("*.partial")) if p.is_dir())
        yield from (("decision", p) for p in sorted(root.rglob("decision.json")))


def _is_candidate(folder: Path) -> bool:
    """The folder's manifest is a candidate's (by its typed ``kind``); an unreadable one is left to the run reader,
    which reports it."""
    if not (folder / "manifest.json").exists():
        return False
    try:
        return isinstance(read_manifest(folder / "manifest.json"), CandidateManifest)
    except CorruptArtifact as exc:
        if exc.code == "bad-manifest":
            return True  # a damaged candidate manifest: not a run, and no run to report
        try:  # not JSON at all: a candidate's still names its kind near the top (it is skipped quietly, as before)
            with open(folder / "manifest.json", "rb") as handle:
                return b'"harness-candidate"' in handle.read(4096)
        except OSError:
            return False
