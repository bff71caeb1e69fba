"""Simple text descriptors of the inputs, each with its own test.

- ``length``: words per input, window against reference: two-sided Mann-Whitney U test.
- ``unseen_vocabulary``: the window's words that the reference sample never uses. The plain
  share of such tokens is dominated by one-off words (names, typos) and barely moves when a
  new topic arrives; what a new topic brings is an unseen word that *recurs*. The statistic
  is the share of window inputs that use the window's most widespread unseen word.
  Permutation test: the window and the reference sample are pooled and relabelled at random
  ``ceil(1/level) - 1`` times (all at once, as sparse matrix products); the window is flagged
  when its statistic is above every permuted one (p = 1/(B+1) <= level).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

import numpy as np
from scipy import stats
from sklearn.feature_extraction.text import CountVectorizer

from harness.monitor.records import Check

_WORD = re.compile(r"\w+")


def words(text: str) -> list[str]:
    """The words of a normalised text."""
    return _WORD.findall(text)


def length_check(window: Sequence[str], reference: Sequence[str], level: float) -> Check:
    """Two-sided Mann-Whitney U test of words per input."""
    a = np.array([len(words(t)) for t in window])
    b = np.array([len(words(t)) for t in reference])
    test = "Mann-Whitney U, two-sided, words per input"
    if len(a) < 10 or len(b) < 10:
        return Check("length", test, None, None, None, level, len(a), len(b), note="too few inputs")
    result = stats.mannwhitneyu(a, b, alternative="two-sided")
    note = f"median words {np.median(a):g} (reference {np.median(b):g})"
    return Check("length", test, float(result.statistic), None, float(result.pvalue), level, len(a), len(b),
                 flagged=bool(result.pvalue <= level), note=note)


def unseen_check(window: Sequence[str], reference: Sequence[str], level: float, seed: int) -> Check:
    """Permutation test of the share of window inputs using the window's most widespread unseen word."""
    test = "permutation test, share of window inputs using the most widespread word unseen in the reference sample"
    if len(window) < 10 or len(reference) < 10:
        return Check("unseen_vocabulary", test, None, None, None, level, len(window), len(reference), note="too few inputs")
    vectorizer = CountVectorizer(token_pattern=r"(?u)\b\w+\b", binary=True)
    present = vectorizer.fit_transform([*reference, *window]).astype(np.float32).tocsc()
    budget = math.ceil(1 / level) - 1
    rng = np.random.default_rng(seed)
    is_window = np.zeros((budget + 1, present.shape[0]), dtype=np.float32)
    is_window[0, len(reference):] = 1
    for row in is_window[1:]:
        row[rng.choice(present.shape[0], len(window), replace=False)] = 1
    window_inputs = (present.T @ is_window.T).T  # labellings x vocabulary: window inputs using each word
    unseen = np.where((present.T @ (1 - is_window).T).T == 0, window_inputs, 0) / len(window)
    observed, null = float(unseen[0].max()), unseen[1:].max(axis=1)
    p = (1 + int((null >= observed).sum())) / (budget + 1)
    word = vectorizer.get_feature_names_out()[int(unseen[0].argmax())]
    tokens = float((unseen[0] > 0).sum())
    note = (f"{observed:.1%} of window inputs use the unseen word {word!r} (permuted max {null.max():.1%}); "
            f"{int(tokens)} distinct unseen words")
    return Check("unseen_vocabulary", test, observed, float(null.max()), p, level, len(window), len(reference),
                 flagged=p <= level * (1 + 1e-9), note=note)
