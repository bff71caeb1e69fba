"""Case-level diff: newly failing, newly fixed, still failing and flaky cases.

A case *passes* a run when every pass/fail (0/1) score it got is 1. It is *flaky* when its
verdict changes across repeats, or across runs whose inputs are identical (same model,
adapter, data, config and decoding): then a change says nothing about the change made.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from harness.reports.load import CaseScores

LABELS = ("newly failing", "newly fixed", "still failing", "flaky")


@dataclass
class CaseChange:
    """One case's label in the diff, with what the page shows of it."""

    variant: str
    case_id: str
    label: str
    failing_metrics: list[str] = field(default_factory=list)
    """The pass/fail metrics the case fails in the latest run."""
    input: str = ""
    expected: str | None = None
    got: str | None = None
    run_link: str = ""


def verdicts(scores: CaseScores, variant: str) -> dict[str, list[bool]]:
    """case id → pass/fail per repeat (cases without any 0/1 score are left out)."""
    out = {}
    for case_id, samples in scores.get(variant, {}).items():
        per_sample = []
        for sample in sorted(samples):
            binary = [v for v in samples[sample].values() if v is not None and v in (0.0, 1.0)]
            if binary:
                per_sample.append(all(v == 1.0 for v in binary))
        if per_sample:
            out[case_id] = per_sample
    return out


def label_cases(variant: str, latest: CaseScores, previous: CaseScores | None,
                same_inputs: Sequence[CaseScores]) -> list[CaseChange]:
    """Label every case of ``variant`` that is not simply passing in both runs.

    Args:
        variant: the variant.
        latest: the latest run's scores.
        previous: the previous comparable run's scores (None: the first run; only repeats can show flakiness).
        same_inputs: earlier runs with identical inputs (``previous`` among them when it is one).
    """
    now = verdicts(latest, variant)
    before = verdicts(previous, variant) if previous is not None else {}
    history = [verdicts(s, variant) for s in same_inputs]
    changes = []
    for case_id, seen in sorted(now.items()):
        observed = set(seen) | {v for h in history for v in h.get(case_id, [])}
        passed_now = all(seen)
        if len(observed) > 1:
            label = "flaky"
        elif case_id not in before:
            label = "" if passed_now else "still failing"
        elif all(before[case_id]) and not passed_now:
            label = "newly failing"
        elif not any(before[case_id]) and passed_now:
            label = "newly fixed"
        elif not passed_now:
            label = "flaky" if any(before[case_id]) else "still failing"
        else:
            label = "flaky" if not all(before[case_id]) else ""
        if label:
            first = latest[variant][case_id].get(0, {})
            failing = sorted(m for m, v in first.items() if v == 0.0)
            changes.append(CaseChange(variant, case_id, label, failing))
    return changes
