"""Domain-classifier test of input drift, with a permutation null.

A logistic regression (scikit-learn, liblinear) learns to tell reference inputs (label 0)
from window inputs (label 1) on TF-IDF features of the word unigrams and bigrams found in at
least two inputs (a term in one input cannot help predict another), or on sentence
embeddings; its 3-fold cross-validated ROC AUC is the statistic. Under no drift the two
samples are exchangeable, so the same procedure on randomly permuted labels draws from the
statistic's null distribution. With ``B = ceil(1/level) - 1`` permutations the window is
flagged when its AUC is above every permuted AUC, i.e. above the null's ``1 - level``
quantile: p = 1/(B+1) <= level, an exact level-``level`` test (``level`` 0.04 gives B = 24).

The permutations stop at the first permuted AUC that reaches the observed one (Besag and
Clifford's sequential Monte Carlo p-value, p = 1/k after k permutations): the decision is the
same as running all B, and a window without drift usually needs only a few.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold

from harness.monitor.records import Check

logger = logging.getLogger(__name__)

FOLDS = 3
TEST_NAME = "domain classifier: 3-fold CV AUC of logistic regression vs permutation null"


def tfidf_features(texts: Sequence[str]) -> sparse.csr_matrix:
    """TF-IDF of word unigrams and bigrams in two texts or more, fitted on the texts themselves (no labels used)."""
    try:
        return TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=2).fit_transform(texts).tocsr()
    except ValueError:  # no term shared by two texts: every text is its own vocabulary
        return sparse.csr_matrix((len(texts), 1))


def cv_auc(features: sparse.csr_matrix | np.ndarray, labels: np.ndarray, seed: int) -> float:
    """Cross-validated ROC AUC of a logistic regression telling label 1 from label 0."""
    scores = np.zeros(len(labels))
    for train, test in StratifiedKFold(FOLDS, shuffle=True, random_state=seed).split(np.zeros(len(labels)), labels):
        model = LogisticRegression(solver="liblinear").fit(features[train], labels[train])
        scores[test] = model.decision_function(features[test])
    return float(roc_auc_score(labels, scores))


def classifier_check(
    features: sparse.csr_matrix | np.ndarray, n_reference: int, level: float, seed: int, test: str = TEST_NAME
) -> Check:
    """The domain-classifier test on stacked features: reference rows first, then the window's.

    Args:
        features: one row per input, the ``n_reference`` reference inputs first.
        n_reference: how many rows are reference inputs.
        level: the test's false-alarm level.
        seed: seeds the folds and the permutations.
        test: the name reported (says which features were used).
    """
    labels = np.r_[np.zeros(n_reference, dtype=int), np.ones(features.shape[0] - n_reference, dtype=int)]
    n_window = len(labels) - n_reference
    if min(n_window, n_reference) < 2 * FOLDS:
        return Check("domain_classifier", test, None, None, None, level, n_window, n_reference, note="too few inputs")
    observed = cv_auc(features, labels, seed)
    budget = math.ceil(1 / level) - 1
    rng = np.random.default_rng(seed)
    null: list[float] = []
    for _ in range(budget):
        null.append(cv_auc(features, rng.permutation(labels), seed))
        if null[-1] >= observed:
            break
    reached = null[-1] >= observed
    p = 1 / len(null) if reached else 1 / (budget + 1)
    note = (f"stopped after {len(null)} of {budget} permutations: a permuted AUC reached the observed one" if reached
            else f"AUC above all {budget} permuted AUCs (null {1 - level:.0%} quantile)")
    logger.debug("domain classifier: AUC %.3f, p %.3f (%s)", observed, p, note)
    return Check("domain_classifier", test, observed, max(null), p, level, n_window, n_reference,
                 flagged=not reached, note=note)
