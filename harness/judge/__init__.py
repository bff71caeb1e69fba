"""The LLM judge and its calibration against human labels.

Public API: :class:`Judge` (absolute and pairwise verdicts through the generation cache),
:func:`load_rubric`, :func:`judge_identity`, :func:`calibrate` and
:func:`calibration_status` (what the gate asks before a judge metric may count).
"""

from harness.judge.judge import Judge
from harness.judge.records import JudgeItem, JudgeScore, PairOutcome, PairVerdict, Verdict
from harness.judge.rubric import Rubric, judge_identity, load_rubric

__all__ = ["Judge", "JudgeItem", "JudgeScore", "PairOutcome", "PairVerdict", "Rubric", "Verdict", "judge_identity",
           "load_rubric"]
