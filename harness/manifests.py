"""The two manifests as typed records: a run's (``runs/<run_id>/manifest.json``) and a candidate's.

``harness eval`` writes a :class:`RunManifest` beside ``results.jsonl``; ``harness train`` writes a
:class:`CandidateManifest` into ``candidates/<id>/``. Each has one reader
(:func:`read_run_manifest`, :func:`read_candidate_manifest`; :func:`read_manifest` reads either,
told apart by ``kind``) and a ``to_dict`` its writer uses. Both carry ``schema_version``: a file
written before the field existed is version 1, and an older file that lacks an optional key still
loads (the field is None). Keys no module reads are kept, unread, in ``extra`` and written back.
A missing, unreadable or damaged manifest is a :class:`~harness.errors.CorruptArtifact` naming
its path (code ``corrupt-artifact`` for a run, ``bad-manifest`` for a candidate).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from harness.errors import CorruptArtifact

RUN_SCHEMA_VERSION = 1
CANDIDATE_SCHEMA_VERSION = 1
RUN_KIND: Literal["harness-run"] = "harness-run"
CANDIDATE_KIND: Literal["harness-candidate"] = "harness-candidate"
MANIFEST = "manifest.json"

JSONMap = dict[str, Any]
"""A JSON object kept as it was read (parts of a manifest no module reads field by field)."""


class _Source:
    """Where a manifest is read from: every damage it finds is one error naming the file."""

    def __init__(self, path: Path, code: str, recover: str) -> None:
        self.path, self.code, self.recover = path, code, recover

    def damaged(self, message: str) -> CorruptArtifact:
        return CorruptArtifact(f"{message}; {self.recover}", path=str(self.path), code=self.code)

    def load(self) -> JSONMap:
        try:
            data = json.loads(self.path.read_bytes())
        except FileNotFoundError:
            raise self.damaged("manifest.json missing") from None
        except (OSError, ValueError, RecursionError) as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
            raise self.damaged(f"unreadable manifest ({exc.__class__.__name__}: {exc})") from None
        if not isinstance(data, dict):
            raise self.damaged("the manifest is not a JSON object")
        return data

    def mapping(self, data: Mapping[str, Any], key: str, where: str = "") -> JSONMap | None:
        value = data.get(key)
        if value is not None and not isinstance(value, dict):
            raise self.damaged(f"`{where}{key}` is not a JSON object (got {type(value).__name__})")
        return value

    def string(self, data: Mapping[str, Any], key: str, where: str = "") -> str | None:
        value = data.get(key)
        if value is not None and not isinstance(value, str):
            raise self.damaged(f"`{where}{key}` is not a string (got {value!r})")
        return value

    def integer(self, data: Mapping[str, Any], key: str, where: str = "") -> int | None:
        value = data.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            raise self.damaged(f"`{where}{key}` is not an integer (got {value!r})")
        return value

    def number(self, data: Mapping[str, Any], key: str, where: str = "") -> float | None:
        value = data.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
            raise self.damaged(f"`{where}{key}` is not a number (got {value!r})")
        return value  # an int stays an int: the file reads back as it was written

    def boolean(self, data: Mapping[str, Any], key: str, where: str = "") -> bool | None:
        value = data.get(key)
        if value is not None and not isinstance(value, bool):
            raise self.damaged(f"`{where}{key}` is not true or false (got {value!r})")
        return value

    def version(self, data: Mapping[str, Any]) -> int:
        version = self.integer(data, "schema_version")
        return 1 if version is None else version


def _rest(data: Mapping[str, Any], known: tuple[str, ...]) -> JSONMap:
    """The keys of ``data`` no field holds (kept and written back as they were)."""
    return {k: v for k, v in data.items() if k not in known}


# ---------------------------------------------------------------------------------------------- shared parts


@dataclass(frozen=True)
class GitState:
    """The git checkout an artifact was made in (:func:`harness.provenance.git_state`)."""

    sha: str | None = None
    dirty: bool | None = None

    def to_dict(self) -> JSONMap:
        return {"sha": self.sha, "dirty": self.dirty}


@dataclass(frozen=True)
class Environment:
    """What made an artifact (:func:`harness.provenance.environment`): git state, and package versions,
    Python and platform kept unread in ``extra``."""

    git: GitState | None = None
    extra: JSONMap = field(default_factory=dict)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Environment:
        """From the ``environment`` block :func:`harness.provenance.environment` returns."""
        git = data.get("git")
        return cls(GitState(git.get("sha"), git.get("dirty")) if isinstance(git, dict) else None, _rest(data, ("git",)))

    def to_dict(self) -> JSONMap:
        return {**({"git": self.git.to_dict()} if self.git is not None else {}), **self.extra}


def _environment(source: _Source, data: Mapping[str, Any]) -> Environment | None:
    env = source.mapping(data, "environment")
    if env is None:
        return None
    git = source.mapping(env, "git", "environment.")
    if git is not None:
        source.string(git, "sha", "environment.git.")
        source.boolean(git, "dirty", "environment.git.")
    return Environment.from_dict(env)


# ---------------------------------------------------------------------------------------------- the run


@dataclass(frozen=True)
class CasesInfo:
    """The held-out cases a run evaluated."""

    path: str | None = None
    sha256: str | None = None
    count: int | None = None
    limit: int | None = None
    """``--limit``: only the first N cases were evaluated."""

    def to_dict(self) -> JSONMap:
        return {"path": self.path, "sha256": self.sha256, "count": self.count, "limit": self.limit}


@dataclass(frozen=True)
class EngineInfo:
    """A serving engine as it describes itself (vLLM: ``/version`` and ``/v1/models``); dtype and
    ``--max-lora-rank`` are not exposed by its API and are not recorded."""

    version: str | None = None
    """The engine's version (``GET /version``)."""
    model: str | None = None
    """The served model's id."""
    root: str | None = None
    """The served model's path on the engine's machine."""
    max_model_len: int | None = None
    """The context length the engine applies."""
    weights_sha256: str | None = None
    """sha256 of ``model.safetensors`` under ``root`` when that folder was readable by the harness."""

    def to_dict(self) -> JSONMap:
        return {"version": self.version, "model": self.model, "root": self.root, "max_model_len": self.max_model_len,
                "weights_sha256": self.weights_sha256}


@dataclass(frozen=True)
class BackendInfo:
    """The backend a run generated with, and the model's identity (path or id, revision or weights hash)."""

    kind: str | None = None
    model: JSONMap | None = None
    """The identity as the backend gives it (:meth:`~harness.eval.backends.Backend.identity`): compared whole."""
    engine: EngineInfo | None = None
    """The serving engine behind an openai backend, when it describes itself (absent from older manifests)."""

    def to_dict(self) -> JSONMap:
        engine = {} if self.engine is None else {"engine": self.engine.to_dict()}
        return {"kind": self.kind, "model": self.model, **engine}


@dataclass(frozen=True)
class RunVariant:
    """One variant of a run: its kind, the hash of its spec and, for an adapter, the adapter's identity."""

    kind: str | None = None
    spec_sha256: str | None = None
    adapter: JSONMap | None = None
    """The adapter's identity (:meth:`~harness.eval.backends.Backend.adapter_identity`); None without one."""

    @property
    def adapter_sha256(self) -> str | None:
        """The adapter weights' sha256 (None without an adapter)."""
        sha = (self.adapter or {}).get("sha256")
        return sha if isinstance(sha, str) else None

    def to_dict(self) -> JSONMap:
        return {"kind": self.kind, "spec_sha256": self.spec_sha256, "adapter": self.adapter}


@dataclass(frozen=True)
class RunManifest:
    """``runs/<run_id>/manifest.json``: everything needed to reproduce and compare a run."""

    run_id: str
    created_at: str
    """UTC, ISO 8601."""
    task: str
    config: str | None = None
    config_sha256: str | None = None
    cases: CasesInfo = field(default_factory=CasesInfo)
    split_sha256: str | None = None
    backend: BackendInfo = field(default_factory=BackendInfo)
    variants: dict[str, RunVariant] = field(default_factory=dict)
    decoding: JSONMap | None = None
    """The decoding parameters as written (compared whole)."""
    repeats: int = 1
    cache_mode: str | None = None
    environment: Environment | None = None
    extra: JSONMap = field(default_factory=dict)
    """Keys of the file no field holds."""
    schema_version: int = RUN_SCHEMA_VERSION
    kind: Literal["harness-run"] = RUN_KIND
    skipped: dict[str, str] = field(default_factory=dict)
    """Variants of the config left out of the run, with why (an adapter variant with nothing to load yet)."""

    def to_dict(self) -> JSONMap:
        """The manifest as ``manifest.json`` holds it."""
        return {
            **self.extra, "schema_version": self.schema_version, "kind": self.kind, "run_id": self.run_id,
            "created_at": self.created_at, "task": self.task, "config": self.config, "config_sha256": self.config_sha256,
            "cases": self.cases.to_dict(), "split_sha256": self.split_sha256, "backend": self.backend.to_dict(),
            "variants": {name: v.to_dict() for name, v in self.variants.items()}, "decoding": self.decoding,
            "repeats": self.repeats, "cache_mode": self.cache_mode,
            "environment": None if self.environment is None else self.environment.to_dict(),
            "skipped": dict(self.skipped),
        }


_RUN_KEYS = ("schema_version", "kind", "run_id", "created_at", "task", "config", "config_sha256", "cases", "split_sha256",
             "backend", "variants", "decoding", "repeats", "cache_mode", "environment", "skipped")


def _engine(source: _Source, backend: JSONMap) -> EngineInfo | None:
    engine = source.mapping(backend, "engine", "backend.")
    if engine is None:
        return None
    where = "backend.engine."
    return EngineInfo(source.string(engine, "version", where), source.string(engine, "model", where),
                      source.string(engine, "root", where), source.integer(engine, "max_model_len", where),
                      source.string(engine, "weights_sha256", where))


def _run_manifest(source: _Source, data: JSONMap) -> RunManifest:
    missing = [k for k in ("run_id", "task", "created_at") if not isinstance(data.get(k), str)]
    if missing:
        raise CorruptArtifact(f"manifest lacks {', '.join(missing)}", path=str(source.path), code=source.code)
    cases = source.mapping(data, "cases") or {}
    backend = source.mapping(data, "backend") or {}
    variants: dict[str, RunVariant] = {}
    for name, info in (source.mapping(data, "variants") or {}).items():
        info = source.mapping({name: info}, name, "variants.") or {}
        variants[name] = RunVariant(source.string(info, "kind", f"variants.{name}."),
                                    source.string(info, "spec_sha256", f"variants.{name}."),
                                    source.mapping(info, "adapter", f"variants.{name}."))
    repeats = source.integer(data, "repeats")
    return RunManifest(
        run_id=data["run_id"], created_at=data["created_at"], task=data["task"], config=source.string(data, "config"),
        config_sha256=source.string(data, "config_sha256"),
        cases=CasesInfo(source.string(cases, "path", "cases."), source.string(cases, "sha256", "cases."),
                        source.integer(cases, "count", "cases."), source.integer(cases, "limit", "cases.")),
        split_sha256=source.string(data, "split_sha256"),
        backend=BackendInfo(source.string(backend, "kind", "backend."), source.mapping(backend, "model", "backend."),
                            _engine(source, backend)),
        variants=variants, decoding=source.mapping(data, "decoding"), repeats=repeats or 1,
        cache_mode=source.string(data, "cache_mode"), environment=_environment(source, data),
        extra=_rest(data, _RUN_KEYS), schema_version=source.version(data),
        skipped={str(k): str(v) for k, v in (source.mapping(data, "skipped") or {}).items()})


def read_run_manifest(path: str | Path) -> RunManifest:
    """Read a run's ``manifest.json`` (any schema version; a run folder is taken for its manifest).

    Raises:
        CorruptArtifact: missing, unreadable, not a run's manifest, or a key of the wrong type (code ``corrupt-artifact``).
    """
    source = _run_source(path)
    data = source.load()
    if data.get("kind", RUN_KIND) != RUN_KIND:
        raise source.damaged(f"not a run's manifest (kind {data.get('kind')!r})")
    return _run_manifest(source, data)


def _run_source(path: str | Path) -> _Source:
    path = Path(path)
    return _Source(path / MANIFEST if path.is_dir() else path, CorruptArtifact.code, "rerun or delete it")


# ---------------------------------------------------------------------------------------------- the candidate


@dataclass(frozen=True)
class BaseModelInfo:
    """The base model a candidate was trained on: its spec, kind and identity (path, weights hashes ... in ``extra``)."""

    spec: str | None = None
    kind: str | None = None
    extra: JSONMap = field(default_factory=dict)

    def to_dict(self) -> JSONMap:
        return {"spec": self.spec, "kind": self.kind, **self.extra}


@dataclass(frozen=True)
class AdapterInfo:
    """The trained LoRA adapter: its weights' sha256 and shape."""

    sha256: str | None = None
    r: int | None = None
    alpha: float | None = None
    target_modules: Any = None
    """As the training config names them (a list of module names, or a string such as ``all-linear``)."""

    def to_dict(self) -> JSONMap:
        return {"sha256": self.sha256, "r": self.r, "alpha": self.alpha, "target_modules": self.target_modules}


@dataclass(frozen=True)
class TrainingData:
    """The training data a candidate learnt from (the gate checks it for held-out leakage)."""

    dataset: str | None = None
    """Path of the training set."""
    dataset_sha256: str | None = None
    """Its sha256 when the candidate was trained."""
    extra: JSONMap = field(default_factory=dict)
    """Validation split, replay and held-out provenance."""

    def to_dict(self) -> JSONMap:
        return {"dataset": self.dataset, "dataset_sha256": self.dataset_sha256, **self.extra}


@dataclass(frozen=True)
class EpochLoss:
    """One epoch's mean train loss and its eval loss."""

    epoch: int
    train_loss: float | None = None
    eval_loss: float | None = None

    def to_dict(self) -> JSONMap:
        return {"epoch": self.epoch, "train_loss": self.train_loss, "eval_loss": self.eval_loss}


@dataclass(frozen=True)
class TrainingStats:
    """How training went: wall time, and throughput, device, precision ... kept in ``extra``."""

    wall_seconds: float | None = None
    extra: JSONMap = field(default_factory=dict)

    def to_dict(self) -> JSONMap:
        return {"wall_seconds": self.wall_seconds, **self.extra}


@dataclass(frozen=True)
class CandidateManifest:
    """``candidates/<id>/manifest.json``: what made a candidate adapter (base model, data, training)."""

    id: str | None = None
    created_at: str | None = None
    task: str | None = None
    """The task the candidate was trained for; None in a manifest that names none, or an empty one (the gate refuses it)."""
    base_model: BaseModelInfo | None = None
    adapter: AdapterInfo | None = None
    data: TrainingData | None = None
    split_manifest: JSONMap | None = None
    """``split.json`` beside the training set, when there was one."""
    chat_template_sha256: str | None = None
    seed: int | None = None
    epochs: tuple[EpochLoss, ...] = ()
    best_epoch: int | None = None
    stats: TrainingStats | None = None
    environment: Environment | None = None
    extra: JSONMap = field(default_factory=dict)
    """Keys of the file no field holds."""
    schema_version: int = CANDIDATE_SCHEMA_VERSION
    kind: Literal["harness-candidate"] = CANDIDATE_KIND

    @property
    def wall_seconds(self) -> float | None:
        """Training wall time (``stats.wall_seconds``), when recorded."""
        return None if self.stats is None else self.stats.wall_seconds

    def summary(self) -> JSONMap:
        """What ``harness registry show`` prints: identity, base model, epochs and training stats."""
        return {"id": self.id, "task": self.task, "created_at": self.created_at,
                "base_model": None if self.base_model is None else self.base_model.to_dict(),
                "epochs": [e.to_dict() for e in self.epochs], "best_epoch": self.best_epoch,
                "stats": None if self.stats is None else self.stats.to_dict()}

    def to_dict(self) -> JSONMap:
        """The manifest as ``manifest.json`` holds it."""
        def part(value: Any) -> Any:
            return None if value is None else value.to_dict()
        return {
            **self.extra, "schema_version": self.schema_version, "kind": self.kind, "id": self.id,
            "created_at": self.created_at, "task": self.task, "base_model": part(self.base_model),
            "adapter": part(self.adapter), "data": part(self.data), "split_manifest": self.split_manifest,
            "chat_template_sha256": self.chat_template_sha256, "seed": self.seed,
            "epochs": [e.to_dict() for e in self.epochs], "best_epoch": self.best_epoch, "stats": part(self.stats),
            "environment": part(self.environment),
        }


_CANDIDATE_KEYS = ("schema_version", "kind", "id", "created_at", "task", "base_model", "adapter", "data", "split_manifest",
                   "chat_template_sha256", "seed", "epochs", "best_epoch", "stats", "environment")


def _candidate_manifest(source: _Source, data: JSONMap) -> CandidateManifest:
    task = data.get("task")
    if task is not None and not isinstance(task, str):
        raise source.damaged(f"the manifest names no task (a non-empty string), got {task!r}")
    base = source.mapping(data, "base_model")
    adapter = source.mapping(data, "adapter")
    training = source.mapping(data, "data")
    stats = source.mapping(data, "stats")
    epochs = data.get("epochs") or []
    if not isinstance(epochs, list):
        raise source.damaged(f"`epochs` is not a list (got {type(epochs).__name__})")
    losses = []
    for i, entry in enumerate(epochs):
        entry = source.mapping({"e": entry}, "e", f"epochs[{i}]") or {}
        epoch = source.integer(entry, "epoch", f"epochs[{i}].")
        if epoch is None:
            raise source.damaged(f"`epochs[{i}].epoch` is missing")
        losses.append(EpochLoss(epoch, source.number(entry, "train_loss", f"epochs[{i}]."),
                                source.number(entry, "eval_loss", f"epochs[{i}].")))
    return CandidateManifest(
        id=source.string(data, "id"), created_at=source.string(data, "created_at"), task=task or None,
        base_model=None if base is None else BaseModelInfo(source.string(base, "spec", "base_model."),
                                                           source.string(base, "kind", "base_model."),
                                                           _rest(base, ("spec", "kind"))),
        adapter=None if adapter is None else AdapterInfo(source.string(adapter, "sha256", "adapter."),
                                                         source.integer(adapter, "r", "adapter."),
                                                         source.number(adapter, "alpha", "adapter."),
                                                         adapter.get("target_modules")),
        data=None if training is None else TrainingData(source.string(training, "dataset", "data."),
                                                        source.string(training, "dataset_sha256", "data."),
                                                        _rest(training, ("dataset", "dataset_sha256"))),
        split_manifest=source.mapping(data, "split_manifest"),
        chat_template_sha256=source.string(data, "chat_template_sha256"), seed=source.integer(data, "seed"),
        epochs=tuple(losses), best_epoch=source.integer(data, "best_epoch"),
        stats=None if stats is None else TrainingStats(source.number(stats, "wall_seconds", "stats."),
                                                       _rest(stats, ("wall_seconds",))),
        environment=_environment(source, data), extra=_rest(data, _CANDIDATE_KEYS), schema_version=source.version(data))


def read_candidate_manifest(path: str | Path) -> CandidateManifest:
    """Read a candidate's ``manifest.json`` (any schema version; a candidate folder is taken for its manifest).

    A manifest without ``kind`` is read as a candidate's (hand-written ones in tests and older tools).

    Raises:
        CorruptArtifact: missing, unreadable, a run's manifest, or a key of the wrong type (code ``bad-manifest``).
    """
    source = _candidate_source(path)
    data = source.load()
    if data.get("kind", CANDIDATE_KIND) != CANDIDATE_KIND:
        raise source.damaged(f"not a candidate's manifest (kind {data.get('kind')!r})")
    return _candidate_manifest(source, data)


def _candidate_source(path: str | Path) -> _Source:
    path = Path(path)
    return _Source(path / MANIFEST if path.is_dir() else path, "bad-manifest", "retrain the candidate with `harness train`")


# ---------------------------------------------------------------------------------------------- either


def read_manifest(path: str | Path) -> RunManifest | CandidateManifest:
    """Read a ``manifest.json`` of either kind, told apart by its ``kind`` (no ``kind``: a run's, as ``harness eval``
    has always written ``kind``; a candidate's manifest is recognised only by ``harness-candidate``).

    Raises:
        CorruptArtifact: missing, unreadable or damaged (with the code of the kind it claims to be).
    """
    source = _run_source(path)
    data = source.load()
    if data.get("kind") == CANDIDATE_KIND:
        return _candidate_manifest(_candidate_source(source.path), data)
    if data.get("kind", RUN_KIND) != RUN_KIND:
        raise source.damaged(f"neither a run's nor a candidate's manifest (kind {data.get('kind')!r})")
    return _run_manifest(source, data)
