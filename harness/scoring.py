"""Score a run's generations with the scorers its config asks for.

The ``scoring`` section of ``harness.yaml`` names them; scorers keyed on case metadata
(``answer_check`` for fact questions with ``accept``, ``general_checks`` for
general-capability items) always apply where they can.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from harness.records import CaseResult
from harness.scorers import Scorer, make_scorer

ALWAYS = ("answer_check", "general_checks")


def build_scorers(scoring: dict[str, Any], base: Path) -> list[Scorer]:
    """Scorers from a ``scoring`` section: ``schema`` (path), ``fields`` (list), ``style`` (path), ``exact_match`` (bool)."""
    scorers: list[Scorer] = []
    if scoring.get("schema"):
        scorers.append(make_scorer("schema", schema=base / scoring["schema"]))
    if scoring.get("fields"):
        scorers.append(make_scorer("fields", fields=list(scoring["fields"])))
    if scoring.get("style"):
        scorers.append(make_scorer("style", rules=base / scoring["style"]))
    if scoring.get("exact_match"):
        scorers.append(make_scorer("exact_match"))
    return scorers + [make_scorer(name) for name in ALWAYS]


def score_results(results: Sequence[CaseResult], scorers: Sequence[Scorer]) -> None:
    """Fill every result's ``scores`` in place."""
    for result in results:
        result.scores = [s for scorer in scorers if scorer.applies(result.case)
                         for s in scorer.score(result.case, result.generation)]


def higher_is_better(scorers: Sequence[Scorer]) -> dict[str, bool]:
    """Direction of every metric the scorers emit."""
    return {metric: better for scorer in scorers for metric, better in scorer.metrics.items()}
