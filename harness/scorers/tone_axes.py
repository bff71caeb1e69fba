"""The tone scorer's two mapped axes: meaning kept (embedding cosine against chance) and fluency (token loss
against the references').

Both map a raw similarity or loss onto [0, 1] with anchors measured on the training split,
so that 0 means "no better than an unrelated reply" and 1 "as good as the references":

- meaning: ``(cos - chance) / (top - chance)`` clipped to [0, 1]. Against the reference,
  chance is the mean cosine between the references of two different training examples and
  top is 1; against the input, chance is the mean cosine between an input and another
  example's reference and top the mean cosine between an input and its own reference.
- fluency: a reply whose mean token loss is at or below the references' 75th percentile
  scores 1; above it, the share of references whose loss is at least as high, divided by 0.25
  (0 past all of them): a reply as fluent as three references in four counts as fluent.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class MeaningAnchors:
    """Cosines measured on the training split that fix 0 and 1 of the meaning axis."""

    reference_chance: float
    """Mean cosine between the references of two different training examples."""
    input_chance: float
    """Mean cosine between a training input and the reference of another example."""
    input_matched: float
    """Mean cosine between a training input and its own reference."""


def meaning_anchors(inputs: np.ndarray, references: np.ndarray) -> MeaningAnchors:
    """The anchors from unit-length embeddings of the training pairs (row i of each is one example)."""
    n = len(references)
    off = ~np.eye(n, dtype=bool)
    return MeaningAnchors(float((references @ references.T)[off].mean()), float((inputs @ references.T)[off].mean()),
                          float(np.mean(np.sum(inputs * references, axis=1))))


def kept(cosine: float, chance: float, top: float) -> float:
    """A cosine mapped onto [0, 1]: chance → 0, top → 1."""
    if top <= chance:
        return float(cosine >= top)
    return float(np.clip((cosine - chance) / (top - chance), 0.0, 1.0))


@dataclass(frozen=True)
class FluencyReference:
    """The references' mean token losses under the fluency model."""

    model: str
    """The fluency model's identity (hash of its resolved identity)."""
    losses: tuple[float, ...]
    """Sorted mean token losses of the training references."""


FLUENT_SHARE = 0.25
"""Fluency is 1 while at least this share of the references has a loss as high or higher."""


def fluency(loss: float | None, reference: FluencyReference) -> float:
    """1 at or below the references' 75th-percentile loss; above it the share of references at least as high / 0.25."""
    if loss is None or not reference.losses:
        return 0.0
    losses = np.asarray(reference.losses)
    at_least = (len(losses) - np.searchsorted(losses, loss, side="left")) / len(losses)
    return float(min(1.0, at_least / FLUENT_SHARE))


def sorted_losses(losses: Sequence[float | None]) -> tuple[float, ...]:
    """The losses that exist, sorted (texts of under two tokens have none)."""
    return tuple(sorted(float(x) for x in losses if x is not None))
