"""Promotion and rollback in the adapter registry, and its candidates with their verdicts.

Reading a task's deployment needs none of this: :mod:`harness.registry.deployments`.

Layout under the registry root (``$HARNESS_REGISTRY``, default ``./candidates``)::

    <root>/<candidate id>/        adapter, manifest.json, decision.json + decisions/ (after a gate)
    <root>/registry.json          {"tasks": {task: {"current": id, "kind": "adapter", ..., "history": [...]}}}
    <root>/decisions/<task>/      ladder decisions (``harness decide``) and variant gate decisions

Promotion rewrites ``registry.json`` atomically; the previous deployment stays in
``history`` for rollback. A candidate is promoted only when its latest decision says
accepted *and* every input the decision hashed is still byte-identical (``force`` exists for
operators, and is recorded on that deployment only). A deployment names what serves the task:
an adapter folder (``kind: adapter``, promoted on an accepting gate or ladder decision) or a
variant of the task's config (``kind: prompt`` or ``rag`` with its corpus hash, promoted only on
an accepting ladder decision, :func:`promote_ladder`). Older ``registry.json`` files (bare ids,
no kind) are read as adapter deployments.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from pathlib import Path

from harness.errors import CorruptArtifact, HarnessError, InputError
from harness.eval.adapters import check_adapter_folder
from harness.gate.ladder.store import LATEST as LADDER_LATEST
from harness.gate.ladder.store import changed_ladder_inputs, load_ladder, task_folder
from harness.gate.store import LATEST, changed_inputs, load_decision
from harness.manifests import read_candidate_manifest
from harness.registry.deployments import registry_root
from harness.registry.index import INDEX, Deployment, TaskEntry, updating_index

log = logging.getLogger(__name__)



class NotAccepted(HarnessError, PermissionError):
    """Promotion of a candidate the gate did not accept, or whose inputs changed since."""

    code = "not-accepted"


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
        manifest = read_candidate_manifest(folder)
    except CorruptArtifact as exc:
        return CandidateInfo(folder.name, None, None, "damaged", str(folder), f"manifest.json: {exc.message}")
    info = CandidateInfo(folder.name, manifest.task, manifest.created_at, "not gated", str(folder))
    if (folder / LATEST).exists():
        try:
            info.verdict = load_decision(folder / LATEST).verdict
        except InputError as exc:
            info.verdict, info.problem = "damaged", f"{LATEST}: {exc.message}"
    return info


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
    task = read_candidate_manifest(folder).task  # a damaged manifest is its own one-line error
    if task is None:
        raise InputError(f"the manifest names no task (a non-empty string), got {task!r}; only a candidate written by "
                         "`harness train` is promoted", path=str(folder / "manifest.json"), code="bad-manifest")
    if force:
        check_adapter_folder(folder)  # without an accepted decision's hashes, at least a sound adapter
    return _deploy(root, task, Deployment(folder.name, forced=force, decision=f"{folder.name}/{LATEST}"))


def _deploy(root: Path, task: str, new: Deployment) -> TaskEntry:
    """Make ``new`` the task's current deployment, the previous one joining the history."""
    with updating_index(root) as index:
        entry = index.setdefault(task, TaskEntry(None))
        if entry.current and (entry.current.kind, entry.current.id) != (new.kind, new.id):
            entry.history.append(entry.current)
        entry.current = dataclasses.replace(new, promoted_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"))
    return entry


def promote_ladder(task: str, root: str | Path | None = None) -> TaskEntry:
    """Deploy the rung the task's latest ladder decision chose, when everything it judged is unchanged.

    Raises:
        NotAccepted: no ladder decision, no rung chosen, or an input changed since (named).
        InputError: a damaged file, or a chosen adapter outside the registry.
    """
    root = registry_root(root)
    path = task_folder(root, task) / LADDER_LATEST
    if not path.exists():
        raise NotAccepted(f"task {task!r} has no ladder decision in {path.parent}; run `harness decide --config ...` first")
    decision = load_ladder(path)
    rung = decision.rung(decision.chosen or "")
    if decision.verdict != "deploy" or rung is None:
        raise NotAccepted(f"the ladder decision for {task!r} is {decision.verdict}, nothing to deploy; rerun `harness decide`")
    corpora = {r.variant: r.reference or "" for r in decision.rungs if r.kind == "rag"}
    changed = changed_ladder_inputs(decision.inputs, corpora) if decision.inputs else ["it records no input hashes"]
    if changed:
        raise NotAccepted(f"the ladder decision for {task!r} no longer matches its inputs: {'; '.join(changed)}; "
                          "rerun `harness decide`", code="inputs-changed")
    ident, corpus = rung.variant, (decision.inputs.corpora.get(rung.variant) if decision.inputs else None)
    if rung.kind == "adapter":
        folder = Path(rung.reference or "")
        if folder.resolve().parent != root.resolve():
            raise InputError(f"the chosen adapter {folder} is not a candidate folder of the registry {root}",
                             code="not-a-candidate")
        ident = folder.name
    return _deploy(root, task, Deployment(ident, kind=rung.kind, corpus_sha256=corpus,
                                          decision=path.relative_to(root).as_posix()))


def rollback(task: str, root: str | Path | None = None) -> TaskEntry:
    """Make the previous deployment of ``task`` current again (with its own ``forced`` mark).

    Raises:
        InputError: nothing to roll back to.
    """
    root = registry_root(root)
    if not (root / INDEX).is_file():
        raise InputError(f"task {task!r} has no previous adapter to roll back to (no {root / INDEX})", code="no-history")
    with updating_index(root) as index:
        entry = index.get(task)
        if not entry or not entry.history:
            raise InputError(f"task {task!r} has no previous adapter to roll back to", code="no-history")
        entry.current = dataclasses.replace(entry.history.pop(),
                                            promoted_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"))
    return entry


