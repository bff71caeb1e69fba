"""Coverage: the inputs furthest from anything the gate tested, grouped into clusters.

Each input's coverage is its cosine similarity to the nearest held-out input (TF-IDF of word
unigrams and bigrams fitted on the reference). An input is *uncovered* when that similarity is
below the 5th percentile of the same figure for the training inputs (without a held-out set:
each reference input's nearest other reference input), so about 5% of ordinary traffic is
uncovered by construction and a new topic shows up as a large cluster. Uncovered inputs are
grouped by average-linkage agglomerative clustering on cosine distance (scikit-learn), on
TF-IDF fitted on the uncovered inputs themselves, largest cluster first.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import sparse
from sklearn.cluster import AgglomerativeClustering
from sklearn.feature_extraction.text import TfidfVectorizer

from harness.data.normalize import dialogue_text
from harness.monitor.records import Cluster, Coverage, LogRecord
from harness.monitor.reference import Reference

QUANTILE = 0.05
CLUSTER_DISTANCE = 0.95
MAX_CLUSTERED = 500
EXAMPLES = 3
_CHUNK = 4096


class CoverageModel:
    """The held-out and calibration inputs, and the uncovered threshold, prepared once per reference."""

    def __init__(self, reference: Reference) -> None:
        self.reference_inputs = reference.inputs
        self.target = [dialogue_text(e.prompt_messages) for e in reference.target]
        self.calibration = [dialogue_text(e.prompt_messages) for e in reference.train] if reference.heldout else None
        self.threshold = float(np.quantile(self._calibration_similarity(), QUANTILE))

    def _vectorizer(self, window: Sequence[str]) -> TfidfVectorizer:
        # Fitted with the window's inputs too: a word no reference input has still weighs in
        # an input's norm, so an input made of new words is far from everything.
        return TfidfVectorizer(stop_words="english", sublinear_tf=True).fit([*self.reference_inputs, *window])

    def _calibration_similarity(self) -> np.ndarray:
        vectorizer = self._vectorizer([])
        target = vectorizer.transform(self.target)
        if self.calibration is not None:
            return _nearest(vectorizer.transform(self.calibration), target)
        similarity = (target @ target.T).toarray()
        np.fill_diagonal(similarity, -1.0)
        return similarity.max(axis=1)

    def nearest(self, texts: Sequence[str]) -> np.ndarray:
        """Each text's cosine similarity to its nearest held-out input (each distinct text computed once)."""
        distinct = list(dict.fromkeys(texts))
        vectorizer = self._vectorizer(distinct)
        similarity = dict(zip(distinct, _nearest(vectorizer.transform(distinct), vectorizer.transform(self.target)), strict=True))
        return np.array([similarity[t] for t in texts])

    def coverage(self, records: Sequence[LogRecord], max_clusters: int = 5) -> Coverage:
        """The window's uncovered inputs, clustered, the ``max_clusters`` largest clusters kept."""
        similarity = self.nearest([r.input_text for r in records])
        uncovered = [records[i] for i in np.argsort(similarity, kind="stable") if similarity[i] < self.threshold]
        clusters = cluster_records(uncovered)[:max_clusters]
        return Coverage(round(self.threshold, 4), len(uncovered), len(records), tuple(clusters))


def _nearest(queries: sparse.csr_matrix, target: sparse.csr_matrix) -> np.ndarray:
    target_t = target.T.tocsc()
    best = np.zeros(queries.shape[0])
    for start in range(0, queries.shape[0], _CHUNK):
        best[start : start + _CHUNK] = (queries[start : start + _CHUNK] @ target_t).max(axis=1).toarray().ravel()
    return best


def cluster_records(records: Sequence[LogRecord]) -> list[Cluster]:
    """Group records by their input (identical inputs together), largest cluster first."""
    groups: dict[str, list[LogRecord]] = {}
    for record in records:
        groups.setdefault(record.input_text, []).append(record)
    texts = list(groups)[:MAX_CLUSTERED]  # records come least covered first
    if not texts:
        return []
    weights = np.array([len(groups[t]) for t in texts])
    vectorizer = TfidfVectorizer(stop_words="english", sublinear_tf=True)
    try:
        features = vectorizer.fit_transform(texts)
    except ValueError:  # only stop words: one group
        return [_cluster([groups[t] for t in texts], np.ones(len(texts)), weights, sparse.csr_matrix((len(texts), 1)), [])]
    labels = _labels(features)
    clusters = []
    vocabulary = vectorizer.get_feature_names_out()
    for label in np.unique(labels):
        members = np.nonzero(labels == label)[0]
        rows = features[members]
        clusters.append(_cluster([groups[texts[i]] for i in members], weights[members], weights[members], rows, vocabulary))
    return sorted(clusters, key=lambda c: (-c.count, c.lines[0]))


def _labels(features: sparse.csr_matrix) -> np.ndarray:
    if features.shape[0] < 2:
        return np.zeros(features.shape[0], dtype=int)
    dense = features.toarray()
    empty = ~dense.any(axis=1)
    dense[empty, 0] = 1e-9  # cosine distance needs non-zero rows
    model = AgglomerativeClustering(n_clusters=None, metric="cosine", linkage="average", distance_threshold=CLUSTER_DISTANCE)
    return model.fit_predict(dense)


def _cluster(members: list[list[LogRecord]], weights: np.ndarray, counts: np.ndarray, rows: sparse.csr_matrix,
             vocabulary: Sequence[str]) -> Cluster:
    centroid = np.asarray(rows.multiply(weights[:, None]).sum(axis=0)).ravel() / max(weights.sum(), 1)
    terms = tuple(vocabulary[i] for i in np.argsort(-centroid)[:5] if centroid[i] > 0) if len(vocabulary) else ()
    central = np.argsort(-(rows @ centroid), kind="stable")[:EXAMPLES]
    examples = tuple(display_text(members[i][0]) for i in central)
    lines = tuple(sorted(r.line for group in members for r in group))
    return Cluster(int(counts.sum()), terms, examples, lines)


def display_text(record: LogRecord) -> str:
    """The last user message of a record, as the user wrote it."""
    return next(m["content"] for m in reversed(record.messages) if m["role"] == "user")
