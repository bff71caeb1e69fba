"""Is the held-out set big enough to decide anything? Per class of each scored field, and the split that would be.

With many classes, a 10% split holds out a handful of cases per class, and a per-field macro-F1
(every class weighted alike) then moves by a whole class's F1 on one or two cases: noise. This
module counts the held-out cases per class of each scored field, gives the smallest paired
effect the gate could detect at that size (:func:`harness.stats.minimum_detectable_effect`),
and suggests the ``--eval-split`` that reaches the gate's ``min_cases`` and a few cases of every
class (or says that no split can, and which class needs more examples).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from harness.data.split import split_score
from harness.records import Example
from harness.stats import minimum_detectable_effect

MIN_PER_CLASS = 5
"""A few cases of every class: below this one case moves the class's F1 by 0.2 or more."""
DIFFERENCE_SD = 0.5
"""Assumed standard deviation of per-case paired differences (a pass/fail metric with 25% discordant cases)."""
MAX_SPLIT = 0.5
"""Hold out at most half: the rest must still train."""


@dataclass(frozen=True)
class FieldClasses:
    """One scored field's classes: held-out count and count in all the data."""

    field: str
    heldout: dict[str, int]
    total: dict[str, int]

    @property
    def smallest(self) -> tuple[str, int]:
        """The class with the fewest held-out cases (every class of the data counts, held out or not)."""
        if not self.total:
            return "", 0
        label = min(self.total, key=lambda c: (self.heldout.get(c, 0), c))
        return label, self.heldout.get(label, 0)


@dataclass(frozen=True)
class HeldoutAdvice:
    """What the held-out set can show, and the split that would show more."""

    n_heldout: int
    n_total: int
    min_cases: int
    fields: list[FieldClasses]
    mde: float
    """Smallest paired difference the gate detects (95%, power 0.8) at ``n_heldout``, with sd ``DIFFERENCE_SD``."""
    suggested_split: float | None
    """The ``--eval-split`` that reaches ``min_cases`` and ``MIN_PER_CLASS`` per class; None when no split up to
    ``MAX_SPLIT`` can (see ``short_classes``)."""
    short_classes: list[str]
    """``field=class`` pairs with fewer than ``MIN_PER_CLASS`` held-out cases even at ``MAX_SPLIT``."""

    @property
    def enough(self) -> bool:
        """The set reaches ``min_cases`` and every class has ``MIN_PER_CLASS`` held-out cases."""
        return self.n_heldout >= self.min_cases and all(f.smallest[1] >= MIN_PER_CLASS for f in self.fields)

    def to_dict(self) -> dict[str, object]:
        """The advice as ``--format json`` prints it."""
        return {"heldout": self.n_heldout, "total": self.n_total, "min_cases": self.min_cases,
                "per_class": {f.field: f.heldout for f in self.fields}, "mde": self.mde, "enough": self.enough,
                "suggested_eval_split": self.suggested_split, "short_classes": self.short_classes}

    def lines(self, current_split: float | None = None) -> list[str]:
        """The advice as a person reads it (``init`` and ``lint`` print these)."""
        lines = [f"held-out: {self.n_heldout} of {self.n_total} examples; the gate detects a paired difference of "
                 f"about {self.mde:.2f} or more at this size (min_cases {self.min_cases})"]
        for classes in self.fields:
            if not classes.total:
                lines.append(f"  {classes.field}: no output has this field")
                continue
            counts = ", ".join(f"{_shown(c)} {classes.heldout.get(c, 0)}" for c in sorted(classes.total))
            label, count = classes.smallest
            moves = f"its F1 moves by {1 / count:.2f} per case" if count else "no held-out case: its F1 is not measured"
            lines.append(f"  {classes.field}: {counts} (smallest: {_shown(label)} {count}; {moves})")
        if self.enough:
            return lines
        if self.suggested_split is not None and (current_split is None or self.suggested_split > current_split):
            lines.append(f"  too small to decide per class: use --eval-split {self.suggested_split:g} (at least "
                         f"{self.min_cases} cases and {MIN_PER_CLASS} of every class)")
        if self.n_total * MAX_SPLIT < self.min_cases:
            lines.append(f"  no split up to {MAX_SPLIT:g} of {self.n_total} examples holds out min_cases {self.min_cases}: "
                         "add data")
        if self.short_classes:
            lines.append(f"  no split up to {MAX_SPLIT:g} holds out {MIN_PER_CLASS} cases of "
                         f"{', '.join(self.short_classes)}: add examples of them")
        return lines


def _shown(label: str) -> str:
    """A class label as a person reads it: a JSON string without its quotes."""
    value = json.loads(label)
    return value if isinstance(value, str) else label


def output_labels(example: Example, field: str) -> str | None:
    """The example's value of ``field`` as a class label (JSON text), None when its output has no such field."""
    try:
        output = json.loads(example.output or "")
    except ValueError:
        return None
    if not isinstance(output, dict) or field not in output:
        return None
    return json.dumps(output[field], sort_keys=True)


def advise(heldout: Sequence[Example], everything: Sequence[Example], fields: Sequence[str], min_cases: int,
           seed: int = 0) -> HeldoutAdvice:
    """Count classes per field in the held-out set and in all the data; find the smallest split (in steps of 0.05,
    up to ``MAX_SPLIT``) whose held-out side, as ``harness init --seed SEED`` would cut it, is enough."""
    labels = {name: [output_labels(e, name) for e in everything] for name in fields}
    per_field = []
    for name in fields:
        total = Counter(label for label in labels[name] if label is not None)
        held = Counter(label for e in heldout if (label := output_labels(e, name)) is not None)
        per_field.append(FieldClasses(name, dict(held), dict(total)))
    scores = [split_score(e, seed) for e in everything]
    suggested = None
    for step in range(1, round(MAX_SPLIT * 20) + 1):
        held_out = [i for i, score in enumerate(scores) if score < step / 20]
        if len(held_out) >= min_cases and not _short(labels, per_field, held_out):
            suggested = step / 20
            break
    at_most = [i for i, score in enumerate(scores) if score < MAX_SPLIT]
    return HeldoutAdvice(len(heldout), len(everything), min_cases, per_field,
                         minimum_detectable_effect(len(heldout), DIFFERENCE_SD), suggested,
                         _short(labels, per_field, at_most))


def _short(labels: dict[str, list[str | None]], per_field: list[FieldClasses], held_out: list[int]) -> list[str]:
    """``field=class (n in all)`` for each class with fewer than ``MIN_PER_CLASS`` of the ``held_out`` indices."""
    short = []
    for classes in per_field:
        counts = Counter(labels[classes.field][i] for i in held_out)
        short += [f"{classes.field}={label} ({total} in all)" for label, total in sorted(classes.total.items())
                  if counts.get(label, 0) < MIN_PER_CLASS]
    return short
