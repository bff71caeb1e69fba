"""``harness eval``: load cases → render variants → generate (cached) → write the run.

A run is ``runs/<run_id>/manifest.json`` (everything needed to reproduce and compare it)
and ``results.jsonl`` (one :class:`~harness.records.CaseResult` per case, variant and
repeat). The folder is written atomically.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from harness.config.eval_config import EvalConfig
from harness.errors import ConfigError, DiskFull, InputError
from harness.eval.backends import AttachesAdapters, Backend, make_backend
from harness.eval.cache import GenerationCache
from harness.eval.cases import load_cases, split_sha256
from harness.eval.generation import CacheMode, generate_cached
from harness.eval.variants import Variant
from harness.fileio import atomic_directory, disk_full, make_folder, remove_abandoned, sha256_file, sha256_text
from harness.history import index_run
from harness.manifests import BackendInfo, CasesInfo, EngineInfo, Environment, RunManifest, RunVariant
from harness.models.cache import cache_dir
from harness.provenance import environment
from harness.records import CaseResult
from harness.registry.deployments import resolve_adapter
from harness.scorers.scoring import build_scorers, score_results


@dataclass
class EvalOptions:
    """What to run and how (the ``harness eval`` flags)."""

    variants: list[str] | None = None
    """Variant names to run; None runs all."""
    limit: int | None = None
    """Evaluate only the first N cases."""
    repeats: int = 1
    """Outputs per case (each cached separately)."""
    cache_mode: CacheMode = "use"
    cache_path: Path | None = None
    """Default: ``<harness cache>/generations.sqlite``."""
    runs_dir: Path = field(default_factory=lambda: Path("runs"))
    progress: bool = True
    chunk_size: int = 32
    """Requests per backend call; each finished chunk is cached at once (what a resume keeps)."""
    case_ids: tuple[str, ...] | None = None
    """Evaluate only these cases (after ``limit``); None: all. The sequential gate's looks."""
    write: bool = True
    """False: score and return the results without writing or indexing a run (a sequential gate's interim look;
    the returned ``Run.path`` is empty)."""


@dataclass
class Run:
    """A finished run: where it was written, its results and manifest."""

    path: Path
    results: list[CaseResult]
    manifest: RunManifest
    skipped: dict[str, str] = field(default_factory=dict)
    """Variants left out with why (also in ``manifest.skipped``): an adapter variant with nothing to load yet."""


@contextmanager
def open_cache(options: EvalOptions) -> Iterator[GenerationCache | None]:
    """The generation cache the options ask for (None with ``cache_mode="off"``), closed afterwards."""
    if options.cache_mode == "off":
        yield None
        return
    cache = GenerationCache(options.cache_path or cache_dir() / "generations.sqlite")
    try:
        yield cache
    finally:
        cache.close()


def selected_variants(config: EvalConfig, names: list[str] | None) -> list[Variant]:
    """Build the chosen variants.

    Raises:
        ConfigError: an unknown name (the message lists the known ones).
    """
    for name in names or []:
        if name not in config.variants:
            raise ConfigError(f"unknown variant {name!r}; known: {', '.join(config.variants)}", path=config.source)
    return [Variant(spec) for name, spec in config.variants.items() if names is None or name in names]


def loadable_variants(config: EvalConfig, names: list[str] | None) -> tuple[list[Variant], dict[str, str]]:
    """The chosen variants, less the adapter variants whose registry reference has nothing to load yet, with why.

    Before the first fine-tune is deployed, ``current:<task>`` names no adapter: a run of the whole config
    (the seed's order: baselines first) evaluates the other variants. A variant asked for by name is never skipped.

    Raises:
        ConfigError: an unknown name.
        InputError: a variant asked for by name has no adapter, or nothing would be left to run.
    """
    variants = selected_variants(config, names)
    skipped: dict[str, str] = {}
    for variant in variants:
        if variant.adapter is not None and names is None:
            try:
                resolve_adapter(variant.spec.adapter or "", config=config.source)
            except InputError as exc:
                if exc.code != "no-adapter":
                    raise
                skipped[variant.spec.name] = exc.message
    kept = [v for v in variants if v.spec.name not in skipped]
    if skipped and not kept:
        raise InputError(f"nothing to run: {'; '.join(f'{n}: {why}' for n, why in skipped.items())}", path=config.source,
                         code="no-adapter")
    return kept, skipped


def run_eval(config: EvalConfig, options: EvalOptions | None = None, backend: Backend | None = None) -> Run:
    """Evaluate the config's variants on its cases and write the run.

    Raises:
        InputError: bad cases, variants or scorers, or a ``runs_dir`` that cannot be a folder (all before generating).
    """
    if backend is None:  # made here, closed here: an engine's adapters are unloaded when the run ends
        made = make_backend(config)
        try:
            return run_eval(config, options, made)
        finally:
            close = getattr(made, "close", None)
            if callable(close):
                close()
    options = options or EvalOptions()
    cases = load_cases(config.cases, config.task)[: options.limit]
    if options.case_ids is not None:
        wanted = set(options.case_ids)
        cases = [case for case in cases if case.id in wanted]
    variants, skipped = loadable_variants(config, options.variants)
    backend = backend or make_backend(config)
    for variant in variants:
        if variant.adapter is not None:
            if not isinstance(backend, AttachesAdapters):
                raise ConfigError(f"variant {variant.spec.name!r} needs an adapter, which the {backend.kind} backend cannot "
                                  "attach; serve the adapter as its own model on the server instead", path=config.source)
            backend.add_adapter(variant.adapter, resolve_adapter(variant.spec.adapter or "", config=config.source),
                                lazy=True)
    scorers = build_scorers(config.scoring)
    for scorer in scorers:
        scorer.check_cases(cases)  # e.g. an unknown item check type: refused before any generation
    make_folder(options.runs_dir)  # a file in the way fails now, not after every generation
    requests = [r for v in variants for r in v.requests(cases, options.repeats)]
    with open_cache(options) as cache:
        generations = generate_cached(backend, requests, config.decoding, cache, mode=options.cache_mode,
                                      chunk_size=options.chunk_size, progress=options.progress)
    by_id = {case.id: case for case in cases}
    results = [CaseResult(by_id[g.case_id], g) for g in generations]
    score_results(results, scorers)
    manifest = replace(build_manifest(config, options, backend, variants, len(cases)), skipped=skipped)
    if not options.write:
        return Run(Path(), results, manifest, skipped)
    path = write_run(options.runs_dir, manifest, results)
    index_run(path, quiet=True)  # the nightly report's history; a failure there never fails the run
    return Run(path, results, manifest, skipped)


def engine_info(backend: Backend) -> EngineInfo | None:
    """The serving engine behind the backend as it describes itself (openai backend on vLLM), else None."""
    describe = getattr(backend, "engine_identity", None)
    return describe() if callable(describe) else None


def build_manifest(config: EvalConfig, options: EvalOptions, backend: Backend, variants: list[Variant],
                   n_cases: int) -> RunManifest:
    """Everything needed to reproduce and compare a run."""
    now = dt.datetime.now(dt.UTC)
    variant_info = {
        v.spec.name: RunVariant(v.spec.kind, sha256_text(json.dumps(v.spec.identity(), sort_keys=True)),
                                backend.adapter_identity(v.adapter))
        for v in variants
    }
    digest = sha256_text(json.dumps([config.task, {n: v.to_dict() for n, v in variant_info.items()}, now.isoformat()],
                                    sort_keys=True))[:6]
    return RunManifest(
        run_id=f"{now:%Y%m%d-%H%M%S}-{config.task}-{digest}",
        created_at=now.isoformat(timespec="seconds"),
        task=config.task,
        config=config.source,
        config_sha256=sha256_file(config.source) if config.source else None,
        cases=CasesInfo(config.cases, sha256_file(config.cases), n_cases, options.limit),
        split_sha256=split_sha256(config.cases),
        backend=BackendInfo(backend.kind, backend.identity(), engine_info(backend)),
        variants=variant_info,
        decoding=asdict(config.decoding),
        repeats=options.repeats,
        cache_mode=options.cache_mode,
        environment=Environment.from_dict(environment(Path(config.source).parent if config.source else ".")),
    )


def write_run(runs_dir: Path, manifest: RunManifest, results: list[CaseResult]) -> Path:
    """Write ``<runs_dir>/<run_id>/`` atomically and return its path (after removing runs killed mid-write).

    Raises:
        DiskFull: the run did not fit (the message says how much it needs); nothing was written.
    """
    remove_abandoned(runs_dir, ".*.partial")
    files = {"results.jsonl": "".join(r.to_json() + "\n" for r in results),
             "manifest.json": json.dumps(manifest.to_dict(), indent=2, sort_keys=True) + "\n"}
    try:
        with atomic_directory(Path(runs_dir) / manifest.run_id) as tmp:
            for name, text in files.items():
                (tmp / name).write_text(text, encoding="utf-8")
    except DiskFull:
        raise disk_full(Path(runs_dir) / manifest.run_id, sum(len(t.encode("utf-8")) for t in files.values())) from None
    return Path(runs_dir) / manifest.run_id
