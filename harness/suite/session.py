"""What the pytest plugin's fixtures hand out: one session's model pool, runs and gate decisions,
the gate as one test sees it (``harness_gate``), and what the session writes when it ends.

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

from harness.config.eval_config import EvalConfig, load_eval_config, with_adapters
from harness.errors import HarnessError, InputError
from harness.eval.backends import Backend, make_backend
from harness.eval.runner import EvalOptions, run_eval
from harness.gate.decision import Decision, GateCheck, SuiteMark, decision_line, render_check
from harness.records import Case, CaseResult
from harness.suite.xdist import SharedDecisions, WorkerSummary

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
        self.suite_marks: dict[str, SuiteMark] = {}
        """The ``harness_suite`` mark of each config's tests, written into its decision at the session's end."""
        self.skipped: dict[str, str] = {}
        """Variants a run left out (an adapter variant with nothing to load yet), with why: printed at the end."""
        self.undeployed: dict[str, str] = {}
        """Configs whose task has no deployment, with the test that failed for it (the others skip, pointing there)."""

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
        from harness.eval.cases import load_cases

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
                run = run_eval(self.with_candidate(config), options, backend=self.backend(config))
            self.runs[key] = run.results
            self.skipped.update(run.skipped)
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
        from harness.gate.ladder.run import variant_decision
        from harness.gate.run import gate_decision

        key = str(config.source)
        if key in self.errors:
            raise self.errors[key]
        if key not in self.decisions:
            try:
                subject = self.subject(config)

                def compute() -> Decision:  # the loaded config: the gate does not read the file again
                    if isinstance(subject, str):  # a prompt or RAG deployment: the ladder's checks for that rung
                        return variant_decision(subject, config, self.eval_options(), backend=self.backend(config))
                    return gate_decision(subject, config, self.eval_options(), backend=self.backend(config))

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
        from harness.registry.deployments import deployment, registry_root

        given = self.options.candidates.get(config.task) or self.options.candidates.get("*")
        if given:
            return given if given in config.variants and not Path(given).exists() else Path(given).resolve()
        current = deployment(config.task, config=config.source)
        return registry_root() / current.id if current.kind == "adapter" else current.id

    @pytest.hookimpl
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        """Write each decision beside its run and its candidate; a worker hands its summary to the controller."""
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


def explain(check: GateCheck, worst: list[CaseResult] | None = None) -> str:
    """A failed check as a short report: the check's line, values per variant, worst cases."""
    lines = [render_check(check)]
    if check.observed:
        lines.append("  observed: " + ", ".join(f"{k} {v:.3f}" if isinstance(v, float) else f"{k} {v}"
                                                for k, v in check.observed.items()))
    for result in worst or []:
        lines.append(f"  case {result.case.id}: input {result.case.user_text[:80]!r}")
        lines.append(f"    expected {str(result.case.reference)[:80]!r}")
        lines.append(f"    got      {str(result.generation.text)[:80]!r}")
    return "\n".join(lines)


class Gate:
    """The gate as seen from one test: ``require(name)`` passes or fails with a readable report."""

    def __init__(self, session: SuiteSession, config: EvalConfig, node: Any) -> None:
        self.session, self.config, self.node = session, config, node
        marker = node.get_closest_marker("harness_suite")
        if marker is not None:  # recorded on the decision when the session writes it
            name = marker.args[0] if marker.args else marker.kwargs.get("name", "")
            version = marker.kwargs.get("version", marker.args[1] if len(marker.args) > 1 else None)
            session.suite_marks.setdefault(str(config.source), SuiteMark(str(name), None if version is None else str(version)))

    @property
    def decision(self) -> Decision:
        """The candidate's decision (computed once per session); a missing candidate fails the test in one line.

        No deployment fails closed: the first test that needs the decision fails with the line that says how to
        deploy, and the suite's other gate tests skip, naming that test (one failure to read, not one per rule).
        """
        try:
            return self.session.decision(self.config)
        except HarnessError as exc:
            source = str(self.config.source)
            if exc.code == "no-deployment":
                first = self.session.undeployed.setdefault(source, self.node.nodeid)
                if first != self.node.nodeid:
                    pytest.skip(f"no deployment of task {self.config.task!r} to check (see the failure of {first})")
            raise pytest.fail.Exception(str(exc), pytrace=False) from None

    def check(self, name: str) -> GateCheck:
        """The check whose name starts with ``name``; fails the test (listing the checks) if there is none."""
        decision = self.decision
        found = decision.check(name)
        if found is None and decision.candidate in self.config.variants:  # a prompt or RAG deployment
            pytest.skip(f"{name}: does not apply to the {self.config.variants[decision.candidate].kind} variant "
                        f"{decision.candidate}")
        if found is None:
            raise pytest.fail.Exception(f"no gate check {name!r}; checks: {', '.join(c.name for c in decision.checks)}",
                                        pytrace=False)
        return found

    def require(self, name: str) -> GateCheck:
        """Assert that the check passed; record its figures as user_properties either way."""
        check = self.check(name)
        for key in ("verdict", "delta", "interval", "p_value", "n", "threshold"):
            self.node.user_properties.append((f"{check.name}:{key}", getattr(check, key)))
        if check.verdict != "pass":
            worst = self.worst_cases() if check.name.startswith("beats ") else None  # the task's cases explain these
            pytest.fail(explain(check, worst), pytrace=False)
        return check

    def worst_cases(self, count: int = 3) -> list[CaseResult]:
        """The candidate's worst results on the primary per-case metric (or any wrong answers)."""
        from harness.gate.run import load_gate

        rules = self.config.rules or load_gate(self.config)[1]
        subject = self.decision.candidate if self.decision.candidate in self.config.variants else rules.candidate
        results = [r for r in self.session.run(self.config, [subject]) if r.generation.sample == 0]

        def badness(result: CaseResult) -> float:
            values = [s.value for s in result.scores if s.metric in ("field_mean", rules.primary) and s.value is not None]
            return min(values) if values else 0.0

        return sorted(results, key=badness)[:count]


def write_session(session: SuiteSession) -> list[str]:
    """Write each decision next to its run and into its candidate's history; return the summary lines."""
    from harness.fileio import atomic_write_json
    from harness.gate.store import write_decision
    from harness.scorers.summary import variant_summary

    lines = [f"harness: {session.model_loads} model load(s) this session"]
    lines += [f"harness: skipped variant {name!r}: {why}" for name, why in session.skipped.items()]
    for results in session.runs.values():
        lines += variant_summary(results).to_string().splitlines()
    for source, decision in session.decisions.items():
        if session.shared is not None and source not in session.shared.computed:
            continue  # another xdist worker computed it, and writes it
        if decision.suite is None and source in session.suite_marks:
            decision = dataclasses.replace(decision, suite=session.suite_marks[source])
        if decision.run:
            atomic_write_json(Path(decision.run) / "decision.json", decision.to_dict())
        if decision.candidate_path:
            write_decision(decision, Path(decision.candidate_path))  # what `registry promote` reads
        lines += decision_line(decision, source)
    return lines


def worker_summary(session: SuiteSession) -> WorkerSummary:
    """A worker's :class:`~harness.suite.session.SuiteSession` as the controller needs it (verdicts of decisions made here)."""
    from harness.scorers.summary import variant_summary

    shared = session.shared or SharedDecisions(Path("."))
    return WorkerSummary(
        model_loads=session.model_loads,
        tables={json.dumps(list(key)): variant_summary(results).to_string().splitlines()
                for key, results in session.runs.items()},
        decisions={source: decision_line(decision, source) for source, decision in session.decisions.items()
                   if source in shared.computed},
        computed=len(shared.computed), read=len(shared.read),
        shared_folder=str(session.shared.folder) if session.shared is not None else None)
