"""False alarms and power of the monitor's input-drift flag, over 100 seeds each.

Each seed shuffles the distinct triage inputs: 450 become the reference, and a window of 100
is drawn from the rest (same distribution: the samples are exchangeable, so the flag's
false-alarm level is exact) or 80 from the rest plus 20 hand-written messages about a topic the
triage data never covers (whiteboards; 20% of traffic).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from harness.data.normalize import normalize_text
from harness.monitor.inputs import InputDriftModel

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
SEEDS, WINDOW, ALPHA = 100, 100, 0.05


def _texts() -> tuple[list[str], list[str]]:
    lines = (ROOT / "suites/triage/data/triage.jsonl").read_text(encoding="utf-8").splitlines()
    ordinary = list(dict.fromkeys(normalize_text(json.loads(line)["messages"][1]["content"]) for line in lines))
    new = (ROOT / "suites/monitor/data/whiteboards.txt").read_text(encoding="utf-8").splitlines()
    return ordinary, [normalize_text(t) for t in new if t.strip()]


def test_drift_flag_holds_its_level_and_catches_a_new_topic_at_20_percent():
    ordinary, new = _texts()
    false_alarms = detections = 0
    for seed in range(SEEDS):
        rng = np.random.default_rng(seed)
        order = rng.permutation(len(ordinary))
        reference, rest = [ordinary[i] for i in order[:450]], [ordinary[i] for i in order[450:]]
        model = InputDriftModel(reference, ALPHA, seed)
        same = [rest[i] for i in rng.choice(len(rest), WINDOW, replace=False)]
        topic = WINDOW // 5
        shifted = [rest[i] for i in rng.choice(len(rest), WINDOW - topic, replace=False)]
        shifted += [new[i] for i in rng.choice(len(new), topic, replace=False)]
        false_alarms += any(c.flagged for c in model.checks_for_texts(same))
        detections += any(c.flagged for c in model.checks_for_texts(shifted))
    slack = stats.binom.ppf(0.999, SEEDS, ALPHA)  # Monte Carlo slack: a level-0.05 flag exceeds this 1 time in 1,000
    assert false_alarms <= slack, f"{false_alarms} false alarms in {SEEDS} seeds (allowed {slack:.0f})"
    assert detections >= 0.9 * SEEDS, f"new topic at 20% flagged in only {detections} of {SEEDS} seeds"
