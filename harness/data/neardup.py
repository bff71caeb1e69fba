"""Near-duplicate search between two sets of texts: MinHash with LSH banding.

Each text becomes the set of its character 5-grams (over UTF-8 bytes of normalised text).
A MinHash signature of ``BANDS * ROWS`` values estimates Jaccard similarity; texts that
agree on every row of any band become candidate pairs. The work is vectorised over all
texts at once and grows linearly with the total text size (no all-pairs comparison).

A candidate is a near duplicate when its exact 5-gram Jaccard similarity is at least the
threshold (0.8), or when its Jaccard is at least 0.4 and its character edit similarity
(``difflib`` ratio) is at least 0.9: a typo in a short message changes many of its
5-grams but few of its characters. With 20 bands of 4 rows a pair at Jaccard J becomes a
candidate with probability ``1 - (1 - J**4)**20``: 0.9999 at 0.8, 0.996 at 0.7, 0.93 at 0.6.
"""

from __future__ import annotations

import difflib
from typing import NamedTuple

import numpy as np

NGRAM = 5
BANDS = 20
ROWS = 4
DEFAULT_THRESHOLD = 0.8
EDIT_THRESHOLD = 0.9
EDIT_MIN_JACCARD = 0.4
_PRIME = np.uint32(16777619)
_CHUNK_TEXTS = 256  # texts per block: keeps BANDS*ROWS permutations of a block in the CPU cache
_SEED = 20260101


class NearDuplicate(NamedTuple):
    """A query text that is a near duplicate of a reference text."""

    query: int
    """Index of the text in the query list."""
    reference: int
    """Index of the most similar text in the reference list."""
    similarity: float
    """Exact Jaccard similarity of the 5-gram sets, or the edit similarity when that decided."""


class _Grams(NamedTuple):
    hashes: np.ndarray  # uint32 hash of every 5-gram, texts concatenated
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
        threshold: minimum exact Jaccard similarity of character 5-gram sets (the edit-similarity
            rule applies beside it).
    """
    if not queries or not references:
        return []
    query_grams, reference_grams = _grams(queries), _grams(references)
    query_sig, reference_sig = _signatures(query_grams), _signatures(reference_grams)
    best: dict[int, NearDuplicate] = {}
    for q, r in _candidate_pairs(query_sig, reference_sig):
        if q in best and best[q].similarity >= 1.0:
            continue
        similarity = _similarity(queries[q], references[r], query_grams.of(q), reference_grams.of(r), threshold)
        if similarity is not None and (q not in best or similarity > best[q].similarity):
            best[q] = NearDuplicate(q, r, similarity)
    return [best[q] for q in sorted(best)]


def _similarity(a: str, b: str, grams_a: np.ndarray, grams_b: np.ndarray, threshold: float) -> float | None:
    """The pair's similarity when it counts as a near duplicate, else None."""
    jaccard = _jaccard(grams_a, grams_b)
    if jaccard >= threshold:
        return jaccard
    if jaccard >= EDIT_MIN_JACCARD:
        edit = difflib.SequenceMatcher(None, a, b, autojunk=False).ratio()
        if edit >= EDIT_THRESHOLD:
            return edit
    return None


def _grams(texts: list[str]) -> _Grams:
    encoded = [text.encode("utf-8") or b"\0" for text in texts]
    lengths = np.fromiter((len(b) for b in encoded), dtype=np.int64, count=len(encoded))
    data = np.frombuffer(b"".join(b + b"\0" * (NGRAM - 1) for b in encoded), dtype=np.uint8)
    text_offsets = np.concatenate([[0], np.cumsum(lengths + NGRAM - 1)[:-1]])
    gram_starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    positions = np.arange(lengths.sum()) + np.repeat(text_offsets - gram_starts, lengths)
    window = len(data) - NGRAM + 1
    rolling = data[:window].astype(np.uint32)
    for j in range(1, NGRAM):
        rolling = rolling * _PRIME + data[j : j + window]
    # Integer arithmetic modulo 2**32: collisions between two texts' few hundred grams are negligible.
    return _Grams(rolling[positions], gram_starts, lengths)


def _signatures(grams: _Grams) -> np.ndarray:
    rng = np.random.default_rng(_SEED)
    mult = (rng.integers(1, 2**32, size=BANDS * ROWS, dtype=np.uint32) | np.uint32(1))[:, None]
    add = rng.integers(0, 2**32, size=BANDS * ROWS, dtype=np.uint32)[:, None]
    count = len(grams.lengths)
    signature = np.empty((count, BANDS * ROWS), dtype=np.uint64)
    for first in range(0, count, _CHUNK_TEXTS):
        last = min(count, first + _CHUNK_TEXTS)
        begin, end = grams.starts[first], grams.starts[last - 1] + grams.lengths[last - 1]
        # a*x+b modulo 2**32 with odd a permutes the 32-bit gram hashes: one row per permutation.
        values = grams.hashes[begin:end][None, :] * mult + add
        signature[first:last] = np.minimum.reduceat(values, grams.starts[first:last] - begin, axis=1).T
    return signature


def _band_keys(signature: np.ndarray) -> np.ndarray:
    keys = np.zeros((len(signature), BANDS), dtype=np.uint64)
    for row in range(ROWS):
        keys = (keys << np.uint64(32)) ^ (keys >> np.uint64(32)) ^ signature[:, row::ROWS]
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
