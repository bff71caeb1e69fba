"""Read a run folder (``manifest.json`` + ``results.jsonl``) and a ``decision.json`` into typed records.

Anything unreadable raises :class:`CorruptArtifact` naming the path: the importer reports it
and skips the folder, it never indexes part of one.
"""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path
from typing import Any

from harness.errors import CorruptArtifact
from harness.fileio import replace_lone_surrogates
from harness.history.aggregate import run_metrics
from harness.history.records import CaseRow, CheckRow, DecisionRecord, OutputRow, RunRecord
from harness.manifests import read_candidate_manifest, read_run_manifest
from harness.records import CaseResult

log = logging.getLogger(__name__)


def _json_file(path: Path) -> tuple[dict[str, Any], bytes]:
    try:
        raw = path.read_bytes()
        data = json.loads(raw)
    except (OSError, ValueError) as exc:
        raise CorruptArtifact(f"unreadable JSON ({exc.__class__.__name__}: {exc}); rerun or delete it",
                              path=str(path)) from exc
    if not isinstance(data, dict):
        raise CorruptArtifact("expected a JSON object", path=str(path))
    return data, raw


def _hash(value: Any) -> str | None:
    """sha256 of a JSON value (None stays None): one short identity for a group of hashes."""
    if value is None or value == {} or value == []:
        return None
    return hashlib.sha256(json.dumps(value, sort_keys=True).encode()).hexdigest()


def read_results(path: Path) -> list[CaseResult]:
    """Every line of ``results.jsonl``; a bad line (e.g. a truncated last line) is corruption."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise CorruptArtifact(f"unreadable results ({exc})", path=str(path)) from exc
    results = []
    for number, line in enumerate(lines, 1):
        try:
            results.append(CaseResult.from_json(line))
        except (ValueError, KeyError, TypeError) as exc:
            raise CorruptArtifact(f"not a CaseResult line ({exc.__class__.__name__}); the run is half-written or damaged",
                                  path=str(path), line=number) from exc
    if not results:
        raise CorruptArtifact("no results", path=str(path))
    return results


def run_cases_outputs(results: list[CaseResult]) -> tuple[list[CaseRow], list[OutputRow]]:
    """The distinct cases of a run (by stable case id) and every generation with its scores.

    Text is stored as UTF-8: a lone surrogate (a ``"\\ud800"`` escape in a results file) becomes U+FFFD.
    """
    text = replace_lone_surrogates
    cases = {r.case.id: CaseRow(r.case.id, r.case.task, text(json.dumps(list(r.case.messages), ensure_ascii=False)),
                                None if r.case.reference is None else text(r.case.reference), r.case.metadata.get("source"))
             for r in results}
    outputs = [OutputRow(r.generation.variant, r.case.id, r.generation.sample, None if r.generation.text is None
                         else text(r.generation.text), r.generation.error, {s.metric: s.value for s in r.scores})
               for r in results]
    return list(cases.values()), outputs


def read_run(run_dir: str | Path) -> RunRecord:
    """Read a run folder written by ``harness eval`` (or the gate, or the pytest plugin).

    Raises:
        CorruptArtifact: missing or malformed manifest or results.
    """
    run_dir = Path(run_dir)
    manifest = read_run_manifest(run_dir / "manifest.json")
    results = read_results(run_dir / "results.jsonl")
    try:
        content = hashlib.sha256((run_dir / "manifest.json").read_bytes() + (run_dir / "results.jsonl").read_bytes())
    except OSError as exc:
        raise CorruptArtifact(f"unreadable run folder ({exc})", path=str(run_dir)) from exc
    cases, outputs = run_cases_outputs(results)
    git = manifest.environment.git if manifest.environment else None
    return RunRecord(
        run_id=manifest.run_id, task=manifest.task, created_at=manifest.created_at, path=str(run_dir.resolve()),
        content_sha256=content.hexdigest(), git_sha=git.sha if git else None, git_dirty=git.dirty if git else None,
        model_sha256=_hash(manifest.backend.model),
        data_sha256=_hash([manifest.cases.sha256, manifest.split_sha256]),
        config_sha256=_hash([manifest.config_sha256, {k: v.spec_sha256 for k, v in manifest.variants.items()}]),
        decoding=json.dumps(manifest.decoding, sort_keys=True) if manifest.decoding else None,
        repeats=manifest.repeats,
        variants={name: (info.kind, info.adapter_sha256, info.spec_sha256) for name, info in manifest.variants.items()},
        metrics=run_metrics(results), cases=cases, outputs=outputs)


def read_decision(path: str | Path) -> DecisionRecord:
    """Read a ``decision.json`` (any schema version: only the stable keys are used).

    Raises:
        CorruptArtifact: unreadable, or missing ``verdict``/``created_at``.
    """
    path = Path(path)
    data, raw = _json_file(path)
    if not isinstance(data.get("verdict"), str) or not isinstance(data.get("created_at"), str):
        raise CorruptArtifact("a decision needs `verdict` and `created_at`", path=str(path))
    checks = [CheckRow(str(c.get("name")), str(c.get("verdict")), str(c.get("detail") or c.get("explanation") or ""))
              for c in data.get("checks") or [] if isinstance(c, dict)]
    inputs = data["inputs"] if isinstance(data.get("inputs"), dict) else {}
    run = data.get("run")
    version = data.get("schema_version")
    return DecisionRecord(
        path=str(path.resolve()), content_sha256=hashlib.sha256(raw).hexdigest(), task=data.get("task"),
        candidate=data.get("candidate"), verdict=data["verdict"], created_at=data["created_at"],
        run_id=Path(run).name if isinstance(run, str) and run else None,
        adapter_sha256=inputs.get("candidate_adapter_sha256"), training_s=_training_seconds(path.parent),
        checks=checks, schema_version=version if isinstance(version, int) else None)


def _training_seconds(candidate: Path) -> float | None:
    """The candidate's training wall time, when its manifest is beside the decision and records one."""
    try:
        seconds = read_candidate_manifest(candidate / "manifest.json").wall_seconds
    except CorruptArtifact:
        return None
    return None if seconds is None else float(seconds)
