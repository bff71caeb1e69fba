"""Score a run's generations with the scorers its config asks for.

The ``scoring`` section of ``harness.yaml`` maps scorer names (harness.scorers' registry) to
their option; scorers keyed on case metadata (``answer_check`` for fact questions with
``accept``, ``general_checks`` for general-capability items) always apply where they can.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field

from harness.records import CaseResult
from harness.scorers.base import Scorer, make_scorer
from harness.scorers.similarity import parse_similar_fields
from harness.scorers.tone_config import ToneSection

ALWAYS = ("answer_check", "general_checks")


@dataclass(frozen=True)
class ScoringSection:
    """``scoring``: each field is a registered scorer; its value is that scorer's one option (``option``)."""

    schema: str | None = field(default=None, metadata={"help": "JSON Schema of the output", "path": True,
                                                       "scorer": "schema", "option": "schema"})
    fields: tuple[str, ...] = field(default=(), metadata={"help": "JSON fields compared with the reference",
                                                          "scorer": "fields", "option": "fields"})
    style: str | None = field(default=None, metadata={"help": "house-style rules (style.yaml)", "path": True,
                                                      "scorer": "style", "option": "rules"})
    exact_match: bool = field(default=False, metadata={"help": "normalised output equals the reference",
                                                       "scorer": "exact_match"})
    tone: ToneSection | None = field(default=None, metadata={"help": "tone: style strength x meaning kept x fluency "
                                                             "(harness.scorers.tone_config)", "section": ToneSection,
                                                             "scorer": "tone", "option": "config"})
    similar_fields: dict[str, str] | None = field(default=None, metadata={
        "help": "free-text JSON fields scored by meaning, field -> method (embedding): similarity:<field>",
        "parse": parse_similar_fields, "scorer": "similarity", "option": "fields"})


def build_scorers(scoring: ScoringSection) -> list[Scorer]:
    """The configured scorers, built by the registry from ``name → option``, then the ones that always apply."""
    scorers: list[Scorer] = []
    for spec in dataclasses.fields(scoring):
        value = getattr(scoring, spec.name)
        if value:
            option = spec.metadata.get("option")
            scorers.append(make_scorer(spec.metadata["scorer"], **({option: value} if option else {})))
    return scorers + [make_scorer(name) for name in ALWAYS]


def scorer_metrics(scoring: ScoringSection) -> set[str]:
    """Every metric the configured scorers emit (what a gate may name as primary or floor)."""
    return set(higher_is_better(build_scorers(scoring)))


def score_results(results: Sequence[CaseResult], scorers: Sequence[Scorer]) -> None:
    """Fill every result's ``scores`` in place (each scorer's batch step first)."""
    for scorer in scorers:
        scorer.prepare([r.case for r in results], [r.generation for r in results])
    for result in results:
        result.scores = [s for scorer in scorers if scorer.applies(result.case)
                         for s in scorer.score(result.case, result.generation)]


def higher_is_better(scorers: Sequence[Scorer]) -> dict[str, bool]:
    """Direction of every metric the scorers emit."""
    return {metric: better for scorer in scorers for metric, better in scorer.metrics.items()}
