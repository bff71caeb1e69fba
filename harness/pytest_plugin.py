"""The pytest plugin: eval suites as tests, ``pytest suites/`` as the deploy gate.

Inert unless a ``harness_*`` fixture is used: importing it imports nothing heavy, loads no
model and writes no file. State lives in ``config.stash``; per-test figures travel as
``user_properties`` (so JUnit XML and pytest-xdist keep them).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

SESSION_KEY = pytest.StashKey["Any"]()
MARKERS = (
    "harness_suite(name, version): the eval suite and its version this test belongs to, "
    "e.g. @pytest.mark.harness_suite('triage', version='1')",
    "slow: runs the embedded model end to end; deselect with -m 'not slow'",
    "gpu: needs a CUDA device; e.g. @pytest.mark.gpu",
    "live: calls a paid or remote API; e.g. @pytest.mark.live",
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


def _session(config: pytest.Config) -> Any:
    if SESSION_KEY not in config.stash:
        from harness.suite import SuiteOptions, SuiteSession

        variants = config.getoption("--variants")
        candidates = dict(item.split("=", 1) if "=" in item else ("*", item) for item in config.getoption("--candidate"))
        config.stash[SESSION_KEY] = SuiteSession(SuiteOptions(
            config=config.getoption("--harness-config"), variants=variants.split(",") if variants else None,
            candidates=candidates, limit=config.getoption("--limit"),
            repeats=config.getoption("--repeats"), no_cache=config.getoption("--no-cache"),
            runs_dir=config.getoption("--harness-runs-dir")))
    return config.stash[SESSION_KEY]


@pytest.fixture(scope="session")
def harness_models(request: pytest.FixtureRequest) -> Any:
    """The session's model pool: ``harness_models.backend(config)`` loads each model once per session."""
    return _session(request.config)


@pytest.fixture
def harness_config(request: pytest.FixtureRequest) -> Any:
    """The suite's EvalConfig (``--harness-config``, else the nearest harness.yaml above the test file)."""
    return _session(request.config).config_for(Path(str(request.path)))


@pytest.fixture
def harness_cases(harness_config: Any) -> Any:
    """The suite's held-out cases."""
    from harness.cases import load_cases

    return load_cases(harness_config.cases, harness_config.task)


@pytest.fixture
def harness_variants(harness_config: Any) -> Any:
    """The suite's variants by name (VariantSpec)."""
    return harness_config.variants


@pytest.fixture
def harness_run(request: pytest.FixtureRequest, harness_config: Any) -> Any:
    """``harness_run(variants=None)`` → scored CaseResults, computed once per session through the cache."""
    session = _session(request.config)
    return lambda variants=None: session.run(harness_config, variants)


@pytest.fixture
def harness_gate(request: pytest.FixtureRequest, harness_config: Any) -> Any:
    """``harness_gate.require(name)`` asserts a gate check passed, with a report as the failure message."""
    from harness.suite import Gate

    return Gate(_session(request.config), harness_config, request.node)


SUMMARY_KEY = pytest.StashKey[list]()


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Write decisions next to their runs (on xdist workers too, which have no terminal)."""
    if SESSION_KEY in session.config.stash:
        from harness.suite import write_session

        session.config.stash[SUMMARY_KEY] = write_session(session.config.stash[SESSION_KEY])


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    for line in config.stash.get(SUMMARY_KEY, []):
        terminalreporter.write_line(line)
