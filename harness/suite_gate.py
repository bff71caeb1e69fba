"""The gate as one test sees it (``harness_gate``), and what a suite session writes when it ends."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from harness.gate.decision import Decision, GateCheck, SuiteMark, render_check
from harness.records import CaseResult
from harness.suite import SuiteSession, decision_line, one_line_failure

if TYPE_CHECKING:
    from harness.evalconfig import EvalConfig

log = logging.getLogger(__name__)


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
        """The candidate's decision (computed once per session); a missing candidate fails the test in one line."""
        with one_line_failure():
            decision = self.session.decision(self.config)
        marker = self.node.get_closest_marker("harness_suite")
        if marker is not None and decision.suite is None:
            name = marker.args[0] if marker.args else marker.kwargs.get("name", "")
            version = marker.kwargs.get("version", marker.args[1] if len(marker.args) > 1 else None)
            decision.suite = SuiteMark(str(name), None if version is None else str(version))
        return decision

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

        rules = self.config.rules or load_gate(self.config.source or "harness.yaml")[1]
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
    from harness.summary import variant_summary

    lines = [f"harness: {session.model_loads} model load(s) this session"]
    for results in session.runs.values():
        lines += variant_summary(results).to_string().splitlines()
    for source, decision in session.decisions.items():
        if session.shared is not None and source not in session.shared.computed:
            continue  # another xdist worker computed it, and writes it
        if decision.run:
            atomic_write_json(Path(decision.run) / "decision.json", decision.to_dict())
        if decision.candidate_path:
            write_decision(decision, Path(decision.candidate_path))  # what `registry promote` reads
        lines += decision_line(decision, source)
    return lines
