"""Per-field non-inferiority for structured outputs: a candidate that wins the mean but loses a field is no win.

Beside the primary metric (often the *mean* macro-F1 over the fields), every field on its own
must not be worse than the baseline by more than ``gate.field_margin``: its paired bootstrap
lower bound of the macro-F1 delta stays at or above ``-field_margin``. A candidate that trades
``needs_human`` for ``category`` is rejected with the field named.
"""

from __future__ import annotations

import logging

import numpy as np

from harness.config.gate import GateRules
from harness.gate.decision import GateCheck, Verdict
from harness.records import CaseResult
from harness.scorers.metrics import field_labels
from harness.stats import PairedDelta, macro_f1_weighted, paired_bootstrap_metric

log = logging.getLogger(__name__)


def field_deltas(base: list[CaseResult], cand: list[CaseResult], rules: GateRules, seed: int = 0) -> dict[str, PairedDelta]:
    """Per field: the paired bootstrap delta of its macro-F1, candidate minus baseline."""
    out = {}
    for name in rules.fields:
        reference, base_pred, labels = field_labels(base, name)
        metric = macro_f1_weighted(labels, reference)
        candidate = np.array(field_labels(cand, name)[1])
        out[name] = paired_bootstrap_metric(metric, np.array(base_pred), candidate,  # type: ignore[arg-type]  # (weights, labels)
                                            n_resamples=rules.n_resamples, confidence=rules.confidence, seed=seed)
    return out


def field_check(baseline: str, results: dict[str, list[CaseResult]], rules: GateRules, seed: int = 0) -> GateCheck:
    """Every field's paired lower bound of the macro-F1 delta against ``baseline`` is ≥ ``-rules.field_margin``.

    ``fail`` names the fields demonstrably worse (upper bound below ``-field_margin``);
    ``inconclusive`` names those whose interval reaches below it; no fields or no results is inconclusive.
    """
    name = f"fields no worse than {baseline}"
    if not rules.fields:
        return GateCheck(name, "inconclusive", "per-field non-inferiority needs scoring.fields")
    if not results.get(baseline) or not results.get(rules.candidate):
        return GateCheck(name, "inconclusive", f"no results for {baseline} or {rules.candidate}")
    deltas = field_deltas(results[baseline], results[rules.candidate], rules, seed)
    floor = -rules.field_margin
    worse = [f for f, d in deltas.items() if d.high < floor]
    unsure = [f for f, d in deltas.items() if d.low < floor and f not in worse]
    worst = min(deltas, key=lambda f: deltas[f].low)
    d = deltas[worst]
    observed = {f: round(x.delta, 4) for f, x in deltas.items()}
    figures = f"{worst} macro-F1 delta {d.delta:+.3f} [{d.low:+.3f}, {d.high:+.3f}]"
    verdict: Verdict = "fail" if worse else "inconclusive" if unsure else "pass"
    if verdict == "fail":
        text = f"worse than {baseline} on {', '.join(worse)}: {figures}, below -margin {floor:+.3f}"
    elif verdict == "inconclusive":
        text = f"{', '.join(unsure)} may be worse than {baseline}: {figures} reaches below -margin {floor:+.3f}"
    else:
        text = f"every field within -margin {floor:+.3f} of {baseline}; worst {figures}"
    return GateCheck(name, verdict, text, observed=observed, threshold=floor, delta=d.delta, interval=(d.low, d.high), n=d.n)
