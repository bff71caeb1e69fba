"""The LLM judge and its calibration against human labels.

Public API: :class:`Judge` (absolute and pairwise verdicts through the generation cache),
:func:`configured_judge`, :func:`load_rubric`, :func:`judge_identity`, :func:`calibrate`,
:func:`store_calibration` and :func:`calibration_status` (what the gate asks before a
judge metric may count).
"""

from harness.judge.calibrate import Calibration, Threshold, calibrate
from harness.judge.configured import configured_judge
from harness.judge.judge import Judge
from harness.judge.records import JudgeItem, JudgeScore, PairOutcome, PairVerdict, Verdict
from harness.judge.rubric import Rubric, judge_identity, load_rubric
from harness.judge.store import calibration_status, store_calibration

__all__ = ["Calibration", "Judge", "JudgeItem", "JudgeScore", "PairOutcome", "PairVerdict", "Rubric", "Threshold", "Verdict",
           "calibrate", "calibration_status", "configured_judge", "judge_identity", "load_rubric", "store_calibration"]
