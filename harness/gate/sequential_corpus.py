"""An anytime-valid confidence sequence for macro-F1 differences (``field_macro_f1`` and the per-field checks).

Macro-F1 is not a mean of per-case scores, so the betting sequence of a mean (:mod:`harness.stats_sequential`)
does not apply to it directly. It is, however, a function of a few means. For a variant v, a field and one of
its classes c, with y the reference label and p the prediction of a case,

    F1_c = 2 TP / (2 TP + FP + FN) = E[tp] / E[s],   tp = [y = c and p = c],   s = ([y = c] + [p = c]) / 2,

both per-case values in [0, 1] (the ratio of their sample sums is exactly scikit-learn's F1 of the class).
A field's macro-F1 is the mean of F1_c over its classes, ``field_macro_f1`` the mean over the fields. This
module builds one betting confidence sequence per mean (E[tp] and E[s] for every variant, field and class:
48 for triage against one baseline) at level alpha / 48 each; by the union bound, all of them hold at every
look at once with probability >= 1 - alpha. On that event, each F1_c lies in [tp_low / s_high, tp_high / s_low]
(F1 rises with E[tp] and falls with E[s]), so interval arithmetic gives bounds of every field's macro-F1
difference and of their mean that hold simultaneously and anytime. The target is the population macro-F1
(ratios of expected counts over the classes of the held-out references), the quantity the fixed-n paired
bootstrap estimates. The price of the union bound and of interval arithmetic is width: at the demo's 155 held-out
cases the bounds of a +0.3 difference still span more than 1.2 (``bench/sequential.py`` prints them), so this
sequence would never settle there and the gate does not use it: its corpus checks use every case and say why
(:data:`harness.gate.sequential.CORPUS_REASON`). It is kept as the measured argument, and for anyone with held-out
sets in the many thousands.

The class set of each field is the set of reference labels of *all* held-out cases (as the fixed-n check uses),
known before anything is generated, so it does not depend on the order cases are drawn in.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import NamedTuple

import numpy as np

from harness.stats_sequential import betting_bounds, mean_grid


class MacroF1Bounds(NamedTuple):
    """Simultaneous anytime-valid bounds of macro-F1 differences (candidate − baseline)."""

    fields: dict[str, tuple[float, float]]
    """Per field, (low, high) of its macro-F1 difference."""
    mean: tuple[float, float]
    """(low, high) of the mean over the fields (``field_macro_f1``)."""
    sequences: int
    """How many confidence sequences the union bound splits alpha over."""


def macro_f1_bounds(reference: Mapping[str, Sequence[str]], candidate: Mapping[str, Sequence[Sequence[str]]],
                    baseline: Mapping[str, Sequence[Sequence[str]]], labels: Mapping[str, Sequence[str]], alpha: float,
                    grid_size: int = 1001) -> MacroF1Bounds:
    """Bounds of the macro-F1 differences after the cases given, in their draw order.

    Args:
        reference: per field, the reference label of each drawn case.
        candidate: per field, the candidate's predicted labels of each case, one per sample (``<invalid>`` counts as
            no class); with repeats a case's indicators are averaged over its samples (the case is the unit).
        baseline: the same for the baseline.
        labels: per field, the classes macro-F1 averages over (the references of every held-out case).
        alpha: error level of all the bounds together.
    """
    fields = list(labels)
    rows: list[np.ndarray] = []
    for predictions in (candidate, baseline):
        for field in fields:
            ref = np.asarray(reference[field])
            for label in labels[field]:
                truth = (ref == label).astype(float)
                guess = np.array([np.mean([p == label for p in samples]) for samples in predictions[field]])
                rows.append(truth * guess)  # the mean over samples of [y = c and p = c]
                rows.append((truth + guess) / 2)
    count = len(rows)
    n = len(rows[0]) if rows else 0
    if not count or not n:
        return MacroF1Bounds({f: (-1.0, 1.0) for f in fields}, (-1.0, 1.0), count)
    bounds = betting_bounds(np.stack(rows), alpha / count, [n], grid=mean_grid(grid_size))
    low, high = bounds.low[:, -1], bounds.high[:, -1]
    f1_low, f1_high = _ratio_bounds(low[0::2], high[0::2], low[1::2], high[1::2])
    per_variant = sum(len(labels[f]) for f in fields)
    out: dict[str, tuple[float, float]] = {}
    start = 0
    for field in fields:
        size = len(labels[field])
        cand = slice(start, start + size)
        base = slice(per_variant + start, per_variant + start + size)
        out[field] = (float(f1_low[cand].mean() - f1_high[base].mean()), float(f1_high[cand].mean() - f1_low[base].mean()))
        start += size
    mean = (float(np.mean([b[0] for b in out.values()])), float(np.mean([b[1] for b in out.values()])))
    return MacroF1Bounds(out, mean, count)


def _ratio_bounds(tp_low: np.ndarray, tp_high: np.ndarray, s_low: np.ndarray,
                  s_high: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Bounds of E[tp] / E[s] in [0, 1] from bounds of each mean (E[tp] <= E[s]; E[s] = 0 leaves F1 anywhere)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        low = np.where(s_high > 0, tp_low / np.maximum(s_high, 1e-300), 0.0)
        high = np.where(s_low > 0, tp_high / np.maximum(s_low, 1e-300), 1.0)
    return np.clip(low, 0.0, 1.0), np.clip(high, 0.0, 1.0)
