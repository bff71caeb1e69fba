"""Near-duplicate search between two sets of texts: MinHash with LSH banding.

Each text becomes the set of its character 5-grams (over UTF-8 bytes of normalised text),
so typos, casing and small edits still match. A MinHash signature of ``BANDS * ROWS``
values estimates Jaccard similarity; texts that agree on every row of any band become
candidate pairs, and each candidate is confirmed with the exact Jaccard similarity of the
two 5-gram sets. The work is vectorised over all texts at once and grows linearly with
the total text size (no all-pairs comparison). With 16 bands of 4 rows, a pair at Jaccard
0.8 is found with probability 1 - (1 - 0.8**4)**16 > 0.999; at 0.7, > 0.98.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

NGRAM = 5
BANDS = 16
ROWS = 4
DEFAULT_THRESHOLD = 0.8
_PRIME = np.uint64(1099511628211)
_SEED = 20260101


class NearDuplicate(NamedTuple):
    """A query text that is a near duplicate of a reference text."""

    query: int
    """Index of the text in the query list."""
    reference: int
    """Index of the most similar text in the reference list."""
    similarity: float
    """Exact Jaccard similarity of the two character 5-gram sets."""


class _Grams(NamedTuple):
    hashes: np.ndarray  # uint64 hash of every 5-gram, texts concatenated
    folded: np.ndarray  # the same hashes folded to uint32 for cheap MinHash permutations
    starts: np.ndarray  # index in ``hashes`` where each text's grams begin
    lengths: np.ndarray  # number of grams of each text

    def of(self, index: int) -> np.ndarray:
        start = self.starts[index]
        return np.unique(self.hashes[start : start + self.lengths[index]])


def find_near_duplicates(
    queries: list[str], references: list[str], threshold: float = DEFAULT_THRESHOLD
) -> list[NearDuplicate]:
    """Return, for each query with a near duplicate among ``references``, the closest one.

    Args:
        queries: texts to check (e.g. held-out inputs).
        references: texts to check against (e.g. training inputs).
        threshold: minimum exact Jaccard similarity of character 5-gram sets.
    """
    if not queries or not references:
        return []
    query_grams, reference_grams = _grams(queries), _grams(references)
    query_sig, reference_sig = _signatures(query_grams), _signatures(reference_grams)
    best: dict[int, NearDuplicate] = {}
    for q, r in _candidate_pairs(query_sig, reference_sig):
        if q in best and best[q].similarity >= 1.0:
            continue
        similarity = _jaccard(query_grams.of(q), reference_grams.of(r))
        if similarity >= threshold and (q not in best or similarity > best[q].similarity):
            best[q] = NearDuplicate(q, r, similarity)
    return [best[q] for q in sorted(best)]


def _grams(texts: list[str]) -> _Grams:
    encoded = [text.encode("utf-8") or b"\0" for text in texts]
    lengths = np.fromiter((len(b) for b in encoded), dtype=np.int64, count=len(encoded))
    data = np.frombuffer(b"".join(b + b"\0" * (NGRAM - 1) for b in encoded), dtype=np.uint8)
    text_offsets = np.concatenate([[0], np.cumsum(lengths + NGRAM - 1)[:-1]])
    gram_starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    positions = np.arange(lengths.sum()) + np.repeat(text_offsets - gram_starts, lengths)
    window = len(data) - NGRAM + 1
    rolling = np.zeros(window, dtype=np.uint64)
    for j in range(NGRAM):
        rolling = rolling * _PRIME + data[j : j + window]
    hashes = rolling[positions]
    folded = ((hashes >> np.uint64(32)) ^ hashes).astype(np.uint32)
    return _Grams(hashes, folded, gram_starts, lengths)


def _signatures(grams: _Grams) -> np.ndarray:
    rng = np.random.default_rng(_SEED)
    mult = rng.integers(1, 2**32, size=BANDS * ROWS, dtype=np.uint32) | np.uint32(1)
    add = rng.integers(0, 2**32, size=BANDS * ROWS, dtype=np.uint32)
    signature = np.empty((len(grams.lengths), BANDS * ROWS), dtype=np.uint64)
    for k in range(BANDS * ROWS):
        # a*x+b modulo 2**32 with odd a is a permutation of the 32-bit folded hashes.
        values = grams.folded * mult[k] + add[k]
        signature[:, k] = np.minimum.reduceat(values, grams.starts)
    return signature


def _band_keys(signature: np.ndarray) -> np.ndarray:
    keys = np.zeros((len(signature), BANDS), dtype=np.uint64)
    for row in range(ROWS):
        keys = keys * _PRIME + signature[:, row::ROWS]
    return keys


def _candidate_pairs(query_sig: np.ndarray, reference_sig: np.ndarray) -> set[tuple[int, int]]:
    query_keys, reference_keys = _band_keys(query_sig), _band_keys(reference_sig)
    pairs: set[tuple[int, int]] = set()
    for band in range(BANDS):
        order = np.argsort(reference_keys[:, band], kind="stable")
        sorted_keys = reference_keys[order, band]
        low = np.searchsorted(sorted_keys, query_keys[:, band], side="left")
        high = np.searchsorted(sorted_keys, query_keys[:, band], side="right")
        for q in np.nonzero(high > low)[0]:
            pairs.update((int(q), int(r)) for r in order[low[q] : high[q]])
    return pairs


def _jaccard(a: np.ndarray, b: np.ndarray) -> float:
    inter = len(np.intersect1d(a, b, assume_unique=True))
    return inter / (len(a) + len(b) - inter)
