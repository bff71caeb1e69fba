"""Scorers: each declares its metrics and whether higher is better; could-not-score is None + why."""

from harness.scorers import similarity, structured, text, tone  # noqa: F401  (registers the scorers)
from harness.scorers.base import SCORERS, Scorer, ScorerBase, make_scorer, register, unscored
from harness.scorers.structured import field_value, parse_lenient, parse_strict

__all__ = ["SCORERS", "Scorer", "ScorerBase", "field_value", "make_scorer", "parse_lenient", "parse_strict", "register",
           "unscored"]
