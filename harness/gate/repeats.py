"""Repeats in the gate (``--repeats K`` with sampling): the case is the unit, and flaky cases are named.

K samples of one case are not K cases. :func:`clustered_by_variant` turns a run's results into one
result per (variant, case) whose scores are the means over that case's scored samples, so every
paired check bootstraps cases (:func:`harness.stats.paired_cluster_bootstrap`), never samples. A case
is *flaky* when it passes a pass/fail metric on some samples and fails it on others; flaky cases stay in
every statistic and are listed in the primary checks' explanations (the gate's table and the pytest
failure), with per-case pass^k and pass@k (:func:`case_repeats`).
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from harness.gate.decision import GateCheck
from harness.records import CaseResult, Score
from harness.stats import pass_at_k, pass_hat_k

FLAKY_SHOWN = 5


class CaseRepeats(NamedTuple):
    """One case's pass/fail outcomes over its K samples."""

    case_id: str
    samples: int
    passed: int

    @property
    def pass_hat_k(self) -> float:
        """pass^K: every sample passes."""
        return pass_hat_k(self.samples, self.passed, self.samples)

    @property
    def pass_at_k(self) -> float:
        """pass@K: at least one sample passes."""
        return pass_at_k(self.samples, self.passed, self.samples)

    @property
    def flaky(self) -> bool:
        """Passes on some samples and fails on others."""
        return 0 < self.passed < self.samples


def case_repeats(results: Sequence[CaseResult], metric: str | None = None) -> list[CaseRepeats]:
    """Per case (in id order), its samples and how many passed: a sample passes when its 0/1 ``metric`` is 1
    (``None``: when every 0/1 score it got is 1, as the report's case diff counts); samples without one are left out."""
    values: dict[str, list[bool]] = defaultdict(list)
    for result in results:
        binary = [s.value for s in result.scores if (metric is None or s.metric == metric) and s.value in (0.0, 1.0)]
        if binary:
            values[result.case.id].append(all(v == 1.0 for v in binary))
    return [CaseRepeats(case, len(v), sum(v)) for case, v in sorted(values.items())]


def clustered_by_variant(results: Sequence[CaseResult]) -> dict[str, list[CaseResult]]:
    """One result per (variant, case), in case order: scores averaged over the case's scored samples.

    The generation is the first sample's, or the first failed sample's (an error anywhere still fails the
    data check closed); corpus metrics read labels from that generation.
    """
    grouped: dict[tuple[str, str], list[CaseResult]] = defaultdict(list)
    for result in results:
        grouped[(result.generation.variant, result.case.id)].append(result)
    out: dict[str, list[CaseResult]] = defaultdict(list)
    for (variant, _), samples in sorted(grouped.items()):
        samples.sort(key=lambda r: r.generation.sample)
        shown = next((r for r in samples if r.generation.error is not None), samples[0])
        out[variant].append(dataclasses.replace(shown, scores=_mean_scores(samples)))
    return dict(out)


def _mean_scores(samples: Sequence[CaseResult]) -> list[Score]:
    names = list(dict.fromkeys(s.metric for r in samples for s in r.scores))
    scores = []
    for name in names:
        values = [s.value for r in samples for s in r.scores if s.metric == name and s.value is not None]
        detail = next((s.detail for r in samples for s in r.scores if s.metric == name and s.detail), None)
        scores.append(Score(name, float(np.mean(values)) if values else None, detail))
    return scores


def flaky_line(results: Sequence[CaseResult], metric: str | None, variants: Sequence[str]) -> str | None:
    """``flaky cases (pass on some samples, fail on others): ft 2 [c1 1/3, c9 2/3]; ...``, None when none is."""
    parts = []
    for variant in variants:
        flaky = [r for r in case_repeats([x for x in results if x.generation.variant == variant], metric) if r.flaky]
        if flaky:
            shown = ", ".join(f"{r.case_id} {r.passed}/{r.samples}" for r in flaky[:FLAKY_SHOWN])
            more = f" +{len(flaky) - FLAKY_SHOWN} more" if len(flaky) > FLAKY_SHOWN else ""
            parts.append(f"{variant} {len(flaky)} [{shown}{more}]")
    return f"flaky cases (pass on some samples, fail on others): {'; '.join(parts)}" if parts else None


def with_flaky(checks: list[GateCheck], results: Sequence[CaseResult], metric: str | None,
               variants: Sequence[str]) -> list[GateCheck]:
    """The checks, the primary comparisons' explanations ending with the flaky cases (unchanged when none)."""
    line = flaky_line(results, metric, variants)
    if line is None:
        return checks
    return [dataclasses.replace(c, explanation=f"{c.explanation}; {line}") if c.name.startswith("beats ") else c
            for c in checks]
