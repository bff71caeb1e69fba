"""The pytest plugin: eval suites as tests, ``pytest suites/`` as the deploy gate.

Modelled on ``_pytest/junitxml.py`` and xdist's ``plugin.py``. Inert unless a ``harness_*``
fixture is used: importing it imports nothing heavy, loads no model and writes no file.
The first fixture use creates one :class:`~harness.suite.session.SuiteSession`, keeps it in
``config.stash`` under a typed key, and registers it as a plugin that owns the session's
end (writing decisions, the terminal summary). Under xdist each worker has its own session,
decisions are computed once per session behind a file lock, and each worker hands its
summary to the controller (``workeroutput``), which prints one (``harness/suite/xdist.py``).
Per-test figures travel as ``user_properties`` (so JUnit XML and xdist keep them).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from harness.config.eval_config import EvalConfig, VariantSpec
    from harness.records import Case, CaseResult
    from harness.suite.session import Gate, SuiteSession

SESSION_KEY = pytest.StashKey["SuiteSession"]()
WORKER_SUMMARIES = pytest.StashKey[list[dict[str, Any]]]()
"""On the xdist controller: the summaries the workers sent back (``harness/suite/xdist.py``)."""
MARKERS = (
    "harness_suite(name, version): the eval suite and its version this test belongs to (recorded in the gate's "
    "decision), e.g. @pytest.mark.harness_suite('triage', version='1')",
    "slow: runs a model end to end (every gate suite `harness init` writes carries it); deselect with -m 'not slow'",
)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("harness", "harness eval suites")
    group.addoption("--harness-config", help="eval config (default: the nearest harness.yaml above each test file)")
    group.addoption("--variants", help="comma-separated variants to run (default: all)")
    group.addoption("--candidate", action="append", default=[], metavar="[TASK=]PATH",
                    help="candidate adapter folder (or variant name) to gate, per task (default: the task's deployment)")
    group.addoption("--limit", type=int, help="only the first N held-out cases")
    group.addoption("--repeats", type=int, default=1, help="outputs per case")
    group.addoption("--no-cache", action="store_true", help="do not use the generation cache")
    group.addoption("--harness-runs-dir", default="runs", help="where the session's run and decision are written")


def pytest_configure(config: pytest.Config) -> None:
    for marker in MARKERS:
        config.addinivalue_line("markers", marker)


def is_worker(config: pytest.Config) -> bool:
    """Whether this process is an xdist worker (it has ``workerinput``); the controller runs no tests."""
    return hasattr(config, "workerinput")


def _session(config: pytest.Config) -> SuiteSession:
    """The session's state, created (and registered as a plugin) on first use."""
    if SESSION_KEY not in config.stash:
        from harness.suite.session import SuiteOptions, SuiteSession

        variants = config.getoption("--variants")
        candidates = dict(item.split("=", 1) if "=" in item else ("*", item) for item in config.getoption("--candidate"))
        session = SuiteSession(SuiteOptions(
            config=config.getoption("--harness-config"), variants=variants.split(",") if variants else None,
            candidates=candidates, limit=config.getoption("--limit"),
            repeats=config.getoption("--repeats"), no_cache=config.getoption("--no-cache"),
            runs_dir=config.getoption("--harness-runs-dir")), worker=is_worker(config))
        from harness.suite.xdist import shared_decisions

        session.shared = shared_decisions(getattr(config, "workerinput", None), config.getoption("--harness-runs-dir"))
        config.stash[SESSION_KEY] = session
        config.pluginmanager.register(session, "harness-suite-session")
    return config.stash[SESSION_KEY]


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    """xdist controller: keep the summary a finished worker sent back."""
    summary = getattr(node, "workeroutput", {}).get("harness_summary")
    if summary:
        node.config.stash.setdefault(WORKER_SUMMARIES, []).append(summary)


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    """xdist controller: one summary of the workers' sessions, each table once (a local session prints its own)."""
    summaries = config.stash.get(WORKER_SUMMARIES, [])
    if summaries:
        from harness.suite.xdist import controller_lines, remove_shared_folders

        for line in controller_lines(summaries):
            terminalreporter.write_line(line)
        remove_shared_folders(summaries)


@pytest.fixture(scope="session")
def harness_models(request: pytest.FixtureRequest) -> SuiteSession:
    """The session's model pool: ``harness_models.backend(config)`` loads each model once per session."""
    return _session(request.config)


@pytest.fixture
def harness_config(request: pytest.FixtureRequest) -> EvalConfig:
    """The suite's EvalConfig (``--harness-config``, else the nearest harness.yaml above the test file)."""
    return _session(request.config).config_for(Path(str(request.path)))


@pytest.fixture
def harness_cases(request: pytest.FixtureRequest, harness_config: EvalConfig) -> list[Case]:
    """The suite's held-out cases."""
    return _session(request.config).cases(harness_config)


@pytest.fixture
def harness_variants(harness_config: EvalConfig) -> dict[str, VariantSpec]:
    """The suite's variants by name."""
    return harness_config.variants


@pytest.fixture
def harness_run(request: pytest.FixtureRequest, harness_config: EvalConfig) -> Callable[..., list[CaseResult]]:
    """``harness_run(variants=None)`` → scored CaseResults, computed once per session through the cache."""
    session = _session(request.config)
    return lambda variants=None: session.run(harness_config, variants)


@pytest.fixture
def harness_gate(request: pytest.FixtureRequest, harness_config: EvalConfig) -> Gate:
    """``harness_gate.require(name)`` asserts a gate check passed, with a report as the failure message."""
    from harness.suite.session import Gate

    return Gate(_session(request.config), harness_config, request.node)
