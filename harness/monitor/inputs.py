"""Input drift of a window: the domain classifier and the text descriptors, at one family level.

The window's drift flag holds the false-alarm level ``alpha`` by Bonferroni: the domain
classifier is tested at ``0.8 * alpha`` and each of the two descriptors at ``0.1 * alpha``
(at alpha 0.05: 0.04, so 24 permutations, and 0.005). Inputs are compared as normalised
text, each distinct input once (repeats are ordinary in production and would let the
classifier memorise them). At most :data:`MAX_WINDOW` window inputs (a random sample) and a
reference sample of ``clip(n_window, 200, 1000)`` go to the classifier, which keeps its
cost bounded at any traffic.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

import harness.monitor.descriptors as descriptors
import harness.monitor.drift as drift
from harness.monitor.embeddings import SentenceEncoder
from harness.monitor.records import Check, LogRecord
from harness.monitor.reference import Reference

MAX_WINDOW = 500
MIN_REFERENCE, MAX_REFERENCE = 200, 1000
CLASSIFIER_SHARE, DESCRIPTOR_SHARE = 0.8, 0.1


class InputDriftModel:
    """The reference side of the input-drift checks, prepared once."""

    def __init__(self, reference: Reference | Sequence[str], alpha: float, seed: int = 0,
                 encoder: SentenceEncoder | None = None) -> None:
        texts = reference.inputs if isinstance(reference, Reference) else list(reference)
        unique = list(dict.fromkeys(texts))
        self.reference = [unique[i] for i in np.random.default_rng(seed).permutation(len(unique))]
        self.alpha, self.seed, self.encoder = alpha, seed, encoder

    def checks(self, records: Sequence[LogRecord], index: int = 0) -> list[Check]:
        """The three input checks of one window (``index`` varies the window's random draws)."""
        return self.checks_for_texts([r.input_text for r in records], index)

    def checks_for_texts(self, texts: Sequence[str], index: int = 0) -> list[Check]:
        """The three input checks of a window given as normalised input texts."""
        rng = np.random.default_rng([self.seed, index])
        window = list(dict.fromkeys(texts))
        if len(window) > MAX_WINDOW:
            window = [window[i] for i in np.sort(rng.choice(len(window), MAX_WINDOW, replace=False))]
        size = min(len(self.reference), int(np.clip(len(window), MIN_REFERENCE, MAX_REFERENCE)))
        sample = [self.reference[i] for i in np.sort(rng.choice(len(self.reference), size, replace=False))]
        return [
            self._classifier(sample, window, index),
            descriptors.length_check(window, sample, DESCRIPTOR_SHARE * self.alpha),
            descriptors.unseen_check(window, sample, DESCRIPTOR_SHARE * self.alpha, self.seed + index),
        ]

    def _classifier(self, sample: list[str], window: list[str], index: int) -> Check:
        level = CLASSIFIER_SHARE * self.alpha
        if len(window) < 2 * drift.FOLDS:
            return drift.classifier_check(np.zeros((len(sample) + len(window), 1)), len(sample), level, self.seed)
        if self.encoder is not None:
            features = self.encoder.encode(sample + window)
            name = drift.TEST_NAME.replace("logistic regression", "logistic regression on MiniLM embeddings")
            return drift.classifier_check(features, len(sample), level, self.seed + index, name)
        return drift.classifier_check(drift.tfidf_features(sample + window), len(sample), level, self.seed + index)
