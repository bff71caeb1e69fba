"""What the pytest plugin's fixtures hand out: one session's model pool, runs and gate decisions.

Everything is computed once per session and kept here (the plugin keeps one
:class:`SuiteSession` in ``config.stash`` and registers it as a plugin, so it owns the
session's end), so many tests share one model load and one generation pass (through the
generation cache). A harness error (bad config, no candidate) fails each test that needs
it with one line, never a traceback.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from harness.backends import Backend, make_backend
from harness.errors import HarnessError, InputError
from harness.evalconfig import EvalConfig, load_eval_config, with_adapters
from harness.gate.decision import Decision
from harness.records import Case, CaseResult
from harness.runner import EvalOptions, run_eval
from harness.suite_xdist import SharedDecisions, worker_summary

log = logging.getLogger(__name__)


@dataclasses.dataclass
class SuiteOptions:
    """The plugin's command-line options."""

    config: str | None = None
    variants: list[str] | None = None
    candidates: dict[str, str] = dataclasses.field(default_factory=dict)
    """``--candidate TASK=PATH`` per task; key ``*`` for a bare ``--candidate PATH`` (any task)."""
    limit: int | None = None
    repeats: int = 1
    no_cache: bool = False
    runs_dir: str = "runs"


@contextmanager
def one_line_failure() -> Iterator[None]:
    """Fail the test with the harness error's one line (``path:line: code: message``), no traceback."""
    try:
        yield
    except HarnessError as exc:
        raise pytest.fail.Exception(str(exc), pytrace=False) from None  # no "during handling of ..." chain


class SuiteSession:
    """Per-session state: configs, one backend per model, runs and decisions; a pytest plugin for the session's end."""

    def __init__(self, options: SuiteOptions, worker: bool = False) -> None:
        self.options = options
        self.worker = worker
        """An xdist worker: its summary goes to the controller instead of a terminal."""
        self.backends: dict[tuple[str, str], Backend] = {}
        self.runs: dict[tuple[str | None, tuple[str, ...]], list[CaseResult]] = {}
        self.decisions: dict[str, Decision] = {}
        self.errors: dict[str, HarnessError] = {}
        """Decisions that could not be made, by config: every later test fails with the same line."""
        self.configs: dict[str, EvalConfig] = {}
        self.summary: list[str] = []
        self.shared: SharedDecisions | None = None
        """Under xdist: decisions computed once per session, by the first worker to need them."""

    def config_for(self, test_path: Path) -> EvalConfig:
        """The suite's config: ``--harness-config``, else the nearest harness.yaml above the test file."""
        with one_line_failure():
            path = Path(self.options.config) if self.options.config else _nearest(test_path)
            key = str(path.resolve())
            if key not in self.configs:
                self.configs[key] = load_eval_config(path)
            return self.configs[key]

    def cases(self, config: EvalConfig) -> list[Case]:
        """The config's held-out cases."""
        from harness.cases import load_cases

        with one_line_failure():
            return load_cases(config.cases, config.task)

    def backend(self, config: EvalConfig) -> Backend:
        """The shared backend of the config's model (loaded once per session)."""
        key = (config.model, config.backend.kind)
        if key not in self.backends:
            self.backends[key] = make_backend(config)
        return self.backends[key]

    @property
    def model_loads(self) -> int:
        """Models actually loaded this session (backends are lazy: cache hits load nothing)."""
        return sum(bool(getattr(backend, "is_loaded", False)) for backend in self.backends.values())

    def eval_options(self) -> EvalOptions:
        """The run options the command line asked for."""
        return EvalOptions(limit=self.options.limit, repeats=self.options.repeats, runs_dir=Path(self.options.runs_dir),
                           cache_mode="off" if self.options.no_cache else "use", progress=False)

    def run(self, config: EvalConfig, variants: list[str] | None = None) -> list[CaseResult]:
        """Scored results of the variants (all by default) on the config's cases, computed once."""
        names = variants or self.options.variants
        key = (config.source, tuple(names or ()))
        if key not in self.runs:
            options = dataclasses.replace(self.eval_options(), variants=names)
            with one_line_failure():
                self.runs[key] = run_eval(self.with_candidate(config), options, backend=self.backend(config)).results
        return self.runs[key]

    def candidate_for(self, task: str) -> Path | None:
        """The ``--candidate`` given for ``task`` (or for any task), if any."""
        chosen = self.options.candidates.get(task) or self.options.candidates.get("*")
        return Path(chosen).resolve() if chosen else None

    def with_candidate(self, config: EvalConfig) -> EvalConfig:
        """The config with ``--candidate`` folders in place of the registry references they override."""
        folders: dict[str, str | Path] = {}
        for name, variant in config.variants.items():
            reference = variant.adapter or ""
            task = reference.removeprefix("current:") if reference.startswith("current:") else config.task
            chosen = self.candidate_for(task) if variant.kind == "adapter" else None
            if chosen:
                folders[name] = chosen
        return with_adapters(config, folders)

    def decision(self, config: EvalConfig) -> Decision:
        """The gate decision for what the suite tests (:meth:`subject`): an adapter, or a variant against cheaper rungs.

        Raises:
            InputError: no deployment or candidate, or an unusable one (raised again for every test that asks).
        """
        from harness.gate.ladder_run import variant_decision
        from harness.gate.run import gate_decision

        key = str(config.source)
        if key in self.errors:
            raise self.errors[key]
        if key not in self.decisions:
            try:
                subject, source = self.subject(config), config.source or "harness.yaml"

                def compute() -> Decision:
                    if isinstance(subject, str):  # a prompt or RAG deployment: the ladder's checks for that rung
                        return variant_decision(subject, source, self.eval_options(), backend=self.backend(config))
                    return gate_decision(subject, source, self.eval_options(), backend=self.backend(config))

                self.decisions[key] = compute() if self.shared is None else self.shared.decision(key, compute)
            except HarnessError as exc:
                self.errors[key] = exc
                raise
        return self.decisions[key]

    def subject(self, config: EvalConfig) -> Path | str:
        """``--candidate`` (a folder, or a variant name of the config), else the task's current deployment.

        Raises:
            InputError: the task has no deployment (one line saying how to make one).
        """
        from harness.registry import deployment, registry_root

        given = self.options.candidates.get(config.task) or self.options.candidates.get("*")
        if given:
            return given if given in config.variants and not Path(given).exists() else Path(given).resolve()
        current = deployment(config.task, config=config.source)
        return registry_root() / current.id if current.kind == "adapter" else current.id

    @pytest.hookimpl
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        """Write each decision beside its run and its candidate; a worker hands its summary to the controller."""
        from harness.suite_gate import write_session

        self.summary = write_session(self)
        workeroutput = getattr(session.config, "workeroutput", None)
        if workeroutput is not None:
            workeroutput["harness_summary"] = worker_summary(self).to_dict()

    @pytest.hookimpl
    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        """The session's model loads, per-variant summaries and gate verdicts (a worker has no terminal)."""
        for line in self.summary:
            terminalreporter.write_line(line)


def _nearest(test_path: Path) -> Path:
    for folder in [test_path.parent, *test_path.parents]:
        if (folder / "harness.yaml").exists():
            return folder / "harness.yaml"
    raise InputError("no harness.yaml in this folder or above; pass --harness-config", path=str(test_path),
                     code="no-config")


def decision_line(decision: Decision, source: str) -> list[str]:
    """The terminal's two lines about one decision."""
    verdicts = ", ".join(f"{c.name}: {c.verdict}" for c in decision.checks)
    where = Path(decision.run) / "decision.json" if decision.run else json.dumps(source)
    return [f"gate {decision.task} ({decision.candidate}): {decision.verdict.upper()} [{verdicts}]", f"  decision: {where}"]
