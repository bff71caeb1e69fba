"""Stored calibrations, bound to the judge identity and the rubric hash, and what the gate asks of them.

A calibration is stored as ``<store>/<judge_identity>.json`` whether it passed or not, so the
gate can say why a judge metric does not count. :func:`calibration_status` is the gate's
hook: a judge metric counts only while the stored calibration passed, was made for the
judge and rubric configured now, and is not older than the allowed age.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from pathlib import Path

from harness.errors import InputError
from harness.fileio import atomic_write_json
from harness.judge.calibrate import Calibration

logger = logging.getLogger(__name__)


def store_calibration(calibration: Calibration, store: str | Path) -> Path:
    """Write the calibration under its judge identity; return the file.

    Raises:
        InputError: the calibration names no judge identity or rubric (judge scores without provenance).
    """
    if not calibration.judge_identity or not calibration.rubric_sha256:
        raise InputError("cannot store a calibration without a judge identity and rubric hash; pass --judge-scores "
                         "with the file `harness judge` wrote", code="no-judge-identity")
    path = Path(store) / f"{calibration.judge_identity}.json"
    atomic_write_json(path, calibration.to_dict())
    logger.info("stored calibration %s (passed=%s)", path, calibration.passed)
    return path


def calibration_status(judge_identity: str, rubric_sha256: str, max_age_days: float, store: str | Path,
                       now: dt.datetime | None = None) -> tuple[bool, str]:
    """Whether a judge metric may count now, and why (fails closed: anything unexpected is ``False``).

    Args:
        judge_identity: the identity of the judge configured now (``Judge.identity``).
        rubric_sha256: the hash of the rubric configured now (``Rubric.sha256``).
        max_age_days: the oldest calibration that still counts.
        store: the folder calibrations are stored in.
        now: the current time (for tests); default: now, UTC.
    """
    path = Path(store) / f"{judge_identity}.json"
    if not path.is_file():
        return False, f"no calibration stored for judge {judge_identity[:12]} in {store}; run `harness calibrate --store`"
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
        created = dt.datetime.fromisoformat(record["created_at"])
        stored_identity, stored_rubric, passed = record["judge_identity"], record["rubric_sha256"], record["passed"]
    except (ValueError, KeyError, TypeError) as exc:
        return False, f"calibration {path} is unreadable ({exc}); calibrate again"
    if stored_identity != judge_identity:
        return False, f"calibration {path} is for judge {str(stored_identity)[:12]}, not {judge_identity[:12]}"
    if stored_rubric != rubric_sha256:
        return False, f"calibration {path} was made with another rubric ({str(stored_rubric)[:12]}); calibrate again"
    if passed is not True:
        return False, f"the judge failed its calibration: {record.get('reason', 'no reason recorded')}"
    age = ((now or dt.datetime.now(dt.UTC)) - created).total_seconds() / 86400
    if age > max_age_days:
        return False, f"calibration is {age:.0f} days old (at most {max_age_days:g}); calibrate again"
    return True, f"calibrated {age:.0f} days ago: {record.get('reason', '')}"
