"""pytest-xdist without duplicate work: one gate decision per session, one summary on the controller.

Under ``-n N`` every worker has its own :class:`~harness.suite.session.SuiteSession`. The first
worker that needs a decision takes a file lock in ``<runs_dir>/.xdist-<testrunuid>/``
(one folder per xdist session, removed at its end), computes it and writes it there; the others wait on the
lock and read it back (:meth:`Decision.from_dict`), or the same one-line error. Only the
worker that computed a decision writes it beside its run and into the candidate's history.
Workers hand the controller a :class:`WorkerSummary`; the controller prints one table per
run and one verdict per decision. The generation cache (SQLite, WAL) is shared as before.
"""

from __future__ import annotations

import json
import logging
import shutil
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from filelock import FileLock

from harness.errors import HarnessError
from harness.fileio import atomic_write_json, sha256_text
from harness.gate.decision import Decision

log = logging.getLogger(__name__)


@dataclass
class SharedDecisions:
    """Decisions shared by the workers of one xdist session through files in ``folder``."""

    folder: Path
    computed: set[str] = field(default_factory=set)
    """Keys this worker computed (and so writes at the session's end)."""
    read: set[str] = field(default_factory=set)
    """Keys another worker computed."""

    def decision(self, key: str, compute: Callable[[], Decision]) -> Decision:
        """The decision for ``key``: computed here by the first worker to ask, read by the others.

        Raises:
            HarnessError: the computation failed (here, or in the worker that made it: the same line).
        """
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / f"{sha256_text(key)[:16]}.json"
        with FileLock(f"{path}.lock"):
            if path.exists():
                self.read.add(key)
                return _load(path)
            try:
                decision = compute()
            except HarnessError as exc:
                atomic_write_json(path, {"error": {"message": exc.message, "path": exc.path, "line": exc.line,
                                                   "code": exc.code}})
                raise
            atomic_write_json(path, decision.to_dict())
            self.computed.add(key)
            log.info("gate decision for %s computed by this worker", key)
            return decision


def _load(path: Path) -> Decision:
    data = json.loads(path.read_text(encoding="utf-8"))
    if "error" in data:
        error = data["error"]
        raise HarnessError(error["message"], path=error["path"], line=error["line"], code=error["code"])
    return Decision.from_dict(data)


def shared_decisions(workerinput: dict[str, Any] | None, runs_dir: str | Path) -> SharedDecisions | None:
    """The shared store of an xdist worker (None outside xdist: each decision is computed in-process)."""
    if workerinput is None:
        return None
    return SharedDecisions(Path(runs_dir).resolve() / f".xdist-{workerinput['testrunuid']}")


@dataclass
class WorkerSummary:
    """What one worker's session reports to the controller (JSON-able: xdist sends it over execnet)."""

    model_loads: int = 0
    tables: dict[str, list[str]] = field(default_factory=dict)
    """Per-variant summary lines by run key (workers running the same run send the same key)."""
    decisions: dict[str, list[str]] = field(default_factory=dict)
    """Verdict lines by config, from the worker that computed the decision."""
    computed: int = 0
    read: int = 0
    shared_folder: str | None = None
    """The session's lock folder, removed by the controller once every worker is done."""

    def to_dict(self) -> dict[str, Any]:
        """Plain data for ``workeroutput``."""
        return asdict(self)


def controller_lines(summaries: list[dict[str, Any]]) -> list[str]:
    """The controller's summary: totals, then each run's table and each decision's verdict once."""
    workers = [WorkerSummary(**s) for s in summaries]
    tables: dict[str, list[str]] = {}
    decisions: dict[str, list[str]] = {}
    for worker in workers:
        for key, lines in worker.tables.items():
            tables.setdefault(key, lines)
        for key, lines in worker.decisions.items():
            decisions.setdefault(key, lines)
    computed, read = sum(w.computed for w in workers), sum(w.read for w in workers)
    head = (f"harness: {sum(w.model_loads for w in workers)} model load(s) this session across {len(workers)} "
            f"worker(s); {computed} gate decision(s) computed, {read} read from another worker")
    return [head, *(line for lines in tables.values() for line in lines),
            *(line for lines in decisions.values() for line in lines)]


def remove_shared_folders(summaries: list[dict[str, Any]]) -> None:
    """Remove the session's lock folders (the controller calls it when every worker is done)."""
    for folder in {s.get("shared_folder") for s in summaries} - {None}:
        shutil.rmtree(str(folder), ignore_errors=True)
