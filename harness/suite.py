"""What the pytest plugin's fixtures hand out: one session's model pool, runs and gate decisions.

Everything is computed once per session and kept here (the plugin stores one
:class:`SuiteSession` in ``config.stash``), so many tests share one model load and one
generation pass (through the generation cache).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from harness.backends import make_backend
from harness.evalconfig import EvalConfig, load_eval_config
from harness.gate.decision import Decision, GateCheck, render_check
from harness.records import CaseResult
from harness.runner import EvalOptions, run_eval


class GateFailure(AssertionError):
    """A gate check that did not pass, with a message that reads like a short report."""


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


class SuiteSession:
    """Per-session state: configs, one backend per model, runs and decisions."""

    def __init__(self, options: SuiteOptions) -> None:
        self.options = options
        self.backends: dict[tuple[str, str], Any] = {}
        self.runs: dict[tuple[Any, ...], list[CaseResult]] = {}
        self.decisions: dict[str, Decision] = {}
        self.configs: dict[str, EvalConfig] = {}

    def config_for(self, test_path: Path) -> EvalConfig:
        """The suite's config: ``--harness-config``, else the nearest harness.yaml above the test file."""
        path = Path(self.options.config) if self.options.config else _nearest(test_path)
        key = str(path.resolve())
        if key not in self.configs:
            self.configs[key] = load_eval_config(path)
        return self.configs[key]

    def backend(self, config: EvalConfig) -> Any:
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
        return EvalOptions(limit=self.options.limit, repeats=self.options.repeats, runs_dir=Path(self.options.runs_dir),
                           cache_mode="off" if self.options.no_cache else "use", progress=False)

    def run(self, config: EvalConfig, variants: list[str] | None = None) -> list[CaseResult]:
        """Scored results of the variants (all by default) on the config's cases, computed once."""
        names = variants or self.options.variants
        key = (config.source, tuple(names or ()))
        if key not in self.runs:
            options = dataclasses.replace(self.eval_options(), variants=names)
            self.runs[key] = run_eval(self.with_candidate(config), options, backend=self.backend(config)).results
        return self.runs[key]

    def candidate_for(self, task: str) -> Path | None:
        """The ``--candidate`` given for ``task`` (or for any task), if any."""
        chosen = self.options.candidates.get(task) or self.options.candidates.get("*")
        return Path(chosen).resolve() if chosen else None

    def with_candidate(self, config: EvalConfig) -> EvalConfig:
        """The config with ``--candidate`` folders in place of the registry references they override."""
        variants = {}
        for name, variant in config.variants.items():
            reference = variant.adapter or ""
            task = reference.removeprefix("current:") if reference.startswith("current:") else config.task
            chosen = self.candidate_for(task) if variant.kind == "adapter" else None
            variants[name] = dataclasses.replace(variant, adapter=str(chosen)) if chosen else variant
        return dataclasses.replace(config, variants=variants)

    def decision(self, config: EvalConfig) -> Decision:
        """The gate decision for what the suite tests (:meth:`subject`): an adapter, or a variant against cheaper rungs."""
        from harness.gate.ladder_run import variant_decision
        from harness.gate.run import gate_decision

        key = str(config.source)
        if key not in self.decisions:
            subject, source = self.subject(config), config.source or "harness.yaml"
            self.decisions[key] = (variant_decision(subject, source, self.eval_options(), backend=self.backend(config))
                                   if isinstance(subject, str) else
                                   gate_decision(subject, source, self.eval_options(), backend=self.backend(config)))
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


def _nearest(test_path: Path) -> Path:
    for folder in [test_path.parent, *test_path.parents]:
        if (folder / "harness.yaml").exists():
            return folder / "harness.yaml"
    raise FileNotFoundError(f"no harness.yaml above {test_path}; pass --harness-config")


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

    @property
    def decision(self) -> Decision:
        """The candidate's decision (computed once per session); a missing candidate fails the test clearly."""
        import pytest

        from harness.errors import InputError

        try:
            return self.session.decision(self.config)
        except InputError as exc:
            message = str(exc.message)
        pytest.fail(message, pytrace=False)  # outside the except: one line, no chained exception

    def check(self, name: str) -> GateCheck:
        """The check whose name starts with ``name``; fails the test (listing the checks) if there is none."""
        import pytest

        found = self.decision.check(name)
        if found is None and self.decision.candidate in self.config.variants:  # a prompt or RAG deployment
            pytest.skip(f"{name}: does not apply to the {self.config.variants[self.decision.candidate].kind} variant "
                        f"{self.decision.candidate}")
        if found is None:
            pytest.fail(f"no gate check {name!r}; checks: {', '.join(c.name for c in self.decision.checks)}", pytrace=False)
        return found

    def require(self, name: str) -> GateCheck:
        """Assert that the check passed; record its figures as user_properties either way."""
        import pytest

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

        rules = self.config.rules or load_gate(self.config.source or "harness.yaml")[1]
        subject = self.decision.candidate if self.decision.candidate in self.config.variants else rules.candidate
        results = [r for r in self.session.run(self.config, [subject]) if r.generation.sample == 0]

        def badness(result: CaseResult) -> float:
            values = [s.value for s in result.scores if s.metric in ("field_mean", rules.primary) and s.value is not None]
            return min(values) if values else 0.0

        return sorted(results, key=badness)[:count]


def write_session(session: SuiteSession) -> list[str]:
    """Write each decision next to its run and return the summary lines for the terminal."""
    import json

    from harness.fileio import atomic_write_json
    from harness.gate.store import write_decision
    from harness.summary import variant_summary

    lines = [f"harness: {session.model_loads} model load(s) this session"]
    for results in session.runs.values():
        lines += variant_summary(results).to_string().splitlines()
    for source, decision in session.decisions.items():
        if decision.run:
            atomic_write_json(Path(decision.run) / "decision.json", decision.to_dict())
        if decision.candidate_path:
            write_decision(decision, Path(decision.candidate_path))  # what `registry promote` reads
        verdicts = ", ".join(f"{c.name}: {c.verdict}" for c in decision.checks)
        lines.append(f"gate {decision.task} ({decision.candidate}): {decision.verdict.upper()} [{verdicts}]")
        lines.append(f"  decision: {Path(decision.run) / 'decision.json' if decision.run else json.dumps(source)}")
    return lines
