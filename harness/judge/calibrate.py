"""The calibration of a judge against human labels: statistics, baselines, probes and the verdict.

A judge passes when the lower end of the 95% interval of its agreement statistic
(quadratic-weighted kappa by default) reaches the threshold and its unscored rate is at
most the allowed rate: a point estimate that merely touches the threshold is not enough.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
from sklearn.metrics import confusion_matrix

from harness.judge.agreement import Estimate, agreement
from harness.judge.humans import human_agreement
from harness.judge.labels import LabelSet

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Threshold:
    """What a passing calibration needs."""

    min_kappa: float = 0.6
    """Lowest acceptable lower interval end of ``statistic``."""
    statistic: str = "quadratic_weighted_kappa"
    """``quadratic_weighted_kappa`` (ordinal scales) or ``cohen_kappa``."""
    max_unscored_rate: float = 0.1
    """Highest acceptable share of items the judge left unscored."""


@dataclass
class Calibration:
    """Everything ``harness calibrate`` reports; ``to_dict`` is the ``--format json`` object."""

    n: int
    unscored: int
    unscored_rate: float
    statistics: dict[str, Estimate]
    base_rate: dict[str, float]
    baseline: dict[str, Any]
    confusion_matrix: dict[str, Any]
    disagreements: list[dict[str, Any]]
    human_agreement: dict[str, Any] | None
    threshold: Threshold
    passed: bool
    reason: str
    judge_identity: str | None = None
    rubric_sha256: str | None = None
    bias_probes: dict[str, Any] = field(default_factory=dict)
    created_at: str = field(default_factory=lambda: dt.datetime.now(dt.UTC).isoformat(timespec="seconds"))

    def to_dict(self) -> dict[str, Any]:
        """One JSON object with every statistic at the top level."""
        data = asdict(self)
        data.update({name: asdict(estimate) for name, estimate in self.statistics.items()})
        del data["statistics"]
        return data


def _baseline(human: np.ndarray, labels: list[int]) -> dict[str, Any]:
    """What always answering the most common human label gets (kappa 0 by construction)."""
    mode = Counter(human.tolist()).most_common(1)[0][0]
    return {"constant": int(mode), "exact_agreement": float(np.mean(human == mode)),
            "within_one_agreement": float(np.mean(abs(human - mode) <= 1)), "cohen_kappa": 0.0,
            "quadratic_weighted_kappa": 0.0}


def _verdict(stats: dict[str, Estimate], unscored_rate: float, threshold: Threshold) -> tuple[bool, str]:
    estimate = stats[threshold.statistic]
    if unscored_rate > threshold.max_unscored_rate:
        return False, f"the judge left {unscored_rate:.0%} unscored (allowed {threshold.max_unscored_rate:.0%})"
    if estimate.low is None:
        return False, f"{threshold.statistic} has no interval (too few scored items or a constant judge)"
    ok = estimate.low >= threshold.min_kappa
    return ok, (f"{threshold.statistic} {estimate.value:.2f} [{estimate.low:.2f}, {estimate.high:.2f}]: lower end "
                f"{'>=' if ok else '<'} {threshold.min_kappa:.2f}")


def calibrate(labels: LabelSet, scale: list[int], threshold: Threshold | None = None, *, n_resamples: int = 2000,
              seed: int = 0) -> Calibration:
    """Compare the judge with the human labels (first rating per item) and decide whether it may count."""
    threshold = threshold or Threshold()
    items = labels.primary()
    scored = [label for label in items if label.judge is not None]
    unscored_rate = 1 - len(scored) / len(items)
    human = np.asarray([label.human for label in scored], dtype=int)
    judge = np.asarray([label.judge for label in scored], dtype=int)
    if len(scored) < 2:
        stats = {name: Estimate(None, None, None) for name in ("cohen_kappa", "quadratic_weighted_kappa", "spearman",
                                                               "exact_agreement", "within_one_agreement", "mean_bias")}
    else:
        stats = agreement(human, judge, scale, n_resamples=n_resamples, seed=seed)
    all_human = np.asarray([label.human for label in items], dtype=int)
    passed, reason = _verdict(stats, unscored_rate, threshold)
    logger.info("calibration: %s", reason)
    return Calibration(
        n=len(scored), unscored=len(items) - len(scored), unscored_rate=unscored_rate, statistics=stats,
        base_rate={str(k): float(np.mean(all_human == k)) for k in scale}, baseline=_baseline(all_human, scale),
        confusion_matrix={"labels": scale, "rows": "human", "columns": "judge",
                          "matrix": confusion_matrix(human, judge, labels=scale).tolist() if len(scored) else []},
        disagreements=[{"id": x.id, "variant": x.variant, "human": x.human, "judge": x.judge} for x in scored
                       if x.human != x.judge],
        human_agreement=human_agreement(labels.labels, scale, seed=seed), threshold=threshold, passed=passed,
        reason=reason, judge_identity=labels.judge_identity, rubric_sha256=labels.rubric_sha256)
