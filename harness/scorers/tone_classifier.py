"""The style-strength classifier: logistic regression on sentence embeddings, tested on its own held-out split.

Examples are split by a hash of their text (stable as the data grows), the regularisation is
chosen by cross-validation on the training part only (scikit-learn's ``LogisticRegressionCV``),
and the fitted classifier is measured on the held-out part: accuracy with its Wilson interval
against chance (the majority class's share), Brier score and expected calibration error. A
classifier whose accuracy interval reaches chance is refused: it scores nothing.
"""

from __future__ import annotations

import hashlib
import logging
import warnings
from dataclasses import dataclass

import numpy as np

logger = logging.getLogger(__name__)

SPLIT_SALT = "tone-classifier-heldout"
ECE_BINS = 10


@dataclass(frozen=True)
class StyleClassifier:
    """A fitted logistic regression: P(target style | embedding)."""

    coef: tuple[float, ...]
    """One weight per embedding dimension."""
    intercept: float
    """The bias term."""
    c: float
    """The inverse regularisation strength cross-validation chose."""

    def probability(self, embeddings: np.ndarray) -> np.ndarray:
        """P(target style) for each row of ``embeddings``."""
        logits = embeddings @ np.asarray(self.coef) + self.intercept
        return 1.0 / (1.0 + np.exp(-logits))


@dataclass(frozen=True)
class HeldOut:
    """How the classifier did on examples it never saw."""

    n: int
    """Held-out examples (target + contrast)."""
    n_target: int
    """Of which in the target style."""
    accuracy: float
    """Share classified right at probability 0.5."""
    low: float
    """Lower end of the accuracy's 95% Wilson interval."""
    high: float
    """Upper end."""
    chance: float
    """What always answering the majority class gets."""
    brier: float
    """Mean squared error of the probabilities (0 is perfect; 0.25 is a coin)."""
    ece: float
    """Expected calibration error over 10 equal-width probability bins."""


@dataclass(frozen=True)
class FittedClassifier:
    """The classifier, its held-out evidence, and whether it may score (``refused`` says why not)."""

    classifier: StyleClassifier | None
    heldout: HeldOut | None
    n_train: int
    refused: str | None


def is_heldout(text: str, share: float) -> bool:
    """Whether ``text`` falls in the classifier's held-out split (a hash of the text: stable, order-free)."""
    digest = hashlib.sha256(f"{SPLIT_SALT}\n{text}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < share


def fit_classifier(target: np.ndarray, contrast: np.ndarray, heldout: list[bool], *, min_heldout: int) -> FittedClassifier:
    """Fit on the rows not held out, measure on the rest, refuse a classifier no better than chance.

    Args:
        target: embeddings of target-style texts (first rows) — label 1.
        contrast: embeddings of other-style texts — label 0.
        heldout: per row of ``[target; contrast]``, whether it is held out.
        min_heldout: fewest held-out rows that count as evidence.
    """
    from sklearn.linear_model import LogisticRegressionCV  # scikit-learn loads only when a tone model is fitted

    x = np.vstack([target, contrast])
    y = np.r_[np.ones(len(target), dtype=int), np.zeros(len(contrast), dtype=int)]
    test = np.asarray(heldout, dtype=bool)
    train = ~test
    if min(np.sum(y[train] == 1), np.sum(y[train] == 0)) < 5:
        return FittedClassifier(None, None, int(train.sum()), "fewer than 5 training examples of a style: give more "
                                "target replies and off-style text (tone.off_style, tone.base_replies)")
    with warnings.catch_warnings():  # scikit-learn 1.8+ announces renamed attributes; the ones read here stay
        warnings.simplefilter("ignore", FutureWarning)
        model = LogisticRegressionCV(Cs=[0.1, 1.0, 10.0, 100.0], cv=5, scoring="neg_log_loss", class_weight="balanced",
                                     max_iter=5000).fit(x[train], y[train])
    classifier = StyleClassifier(tuple(float(v) for v in np.ravel(model.coef_)), float(np.ravel(model.intercept_)[0]),
                                 float(np.ravel(model.C_)[0]))
    if test.sum() < min_heldout or len(set(y[test].tolist())) < 2:
        return FittedClassifier(classifier, None, int(train.sum()), f"only {int(test.sum())} held-out examples with "
                                f"{len(set(y[test].tolist()))} style(s); the classifier needs {min_heldout} of both "
                                "styles to be tested: give more target and off-style text")
    measured = measure(classifier, x[test], y[test])
    refused = None
    if measured.low <= measured.chance:
        refused = (f"the style classifier cannot tell the styles apart: held-out accuracy {measured.accuracy:.2f} "
                   f"[{measured.low:.2f}, {measured.high:.2f}] reaches chance {measured.chance:.2f} (n {measured.n}); "
                   "give contrasting text that differs in style (tone.off_style, tone.base_replies)")
        logger.warning(refused)
    return FittedClassifier(classifier, measured, int(train.sum()), refused)


def measure(classifier: StyleClassifier, x: np.ndarray, y: np.ndarray) -> HeldOut:
    """Accuracy with its interval, chance, Brier score and calibration error on labelled rows."""
    from sklearn.metrics import brier_score_loss

    from harness.stats import wilson_interval  # scipy: loaded only when a tone model is measured

    p = classifier.probability(x)
    right = int(np.sum((p >= 0.5) == (y == 1)))
    low, high = wilson_interval(right, len(y))
    chance = float(max(np.mean(y), 1 - np.mean(y)))
    return HeldOut(len(y), int(y.sum()), right / len(y), low, high, chance, float(brier_score_loss(y, p)),
                   expected_calibration_error(p, y))


def expected_calibration_error(p: np.ndarray, y: np.ndarray, bins: int = ECE_BINS) -> float:
    """Mean |observed rate - mean probability| over equal-width probability bins, weighted by each bin's share."""
    index = np.minimum((p * bins).astype(int), bins - 1)
    error = 0.0
    for b in range(bins):
        members = index == b
        if members.any():
            error += members.mean() * abs(float(y[members].mean()) - float(p[members].mean()))
    return float(error)
