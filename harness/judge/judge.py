"""The rubric judge: absolute scores and pairwise comparisons on any backend, through the cache.

Judge calls go through :func:`harness.eval.generation.generate_cached` with the backend wrapped
so that its cache identity includes the judge identity: editing the rubric, the prompts,
the judge model or its decoding never serves a stale verdict.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from harness.eval.backends.base import Backend
from harness.eval.cache import GenerationCache
from harness.eval.generation import generate_cached
from harness.judge.prompts import PROMPT_SHA256, absolute_messages, pairwise_messages, parse_absolute, parse_pairwise
from harness.judge.records import JudgeItem, JudgeScore, PairOutcome
from harness.judge.rubric import Rubric, judge_identity
from harness.records import Decoding, Generation, GenerationRequest

logger = logging.getLogger(__name__)
JUDGE_DECODING = Decoding(max_new_tokens=32, temperature=0.0)
"""Greedy, short: a verdict is two lines."""


class _UnderIdentity:
    """A backend whose cache identity also names the judge identity."""

    def __init__(self, backend: Backend, identity: str) -> None:
        self.inner, self.kind, self._identity = backend, backend.kind, identity

    def identity(self) -> dict[str, Any]:
        return {**self.inner.identity(), "judge_identity": self._identity}

    def adapter_identity(self, name: str | None) -> dict[str, Any] | None:
        return self.inner.adapter_identity(name)

    def generate(self, requests: Sequence[GenerationRequest], decoding: Decoding) -> list[Generation]:
        return self.inner.generate(requests, decoding)


@dataclass
class Judge:
    """A rubric judge on one backend.

    Args:
        backend: any :class:`~harness.eval.backends.base.Backend` (local model, OpenAI-compatible endpoint).
        rubric: the rubric the judge applies.
        cache: the generation cache (None: no caching).
        decoding: the judge's decoding; part of its identity.
    """

    backend: Backend
    rubric: Rubric
    cache: GenerationCache | None = None
    decoding: Decoding = JUDGE_DECODING
    progress: bool = False

    @property
    def identity(self) -> str:
        """The judge identity (prompts, rubric, model, decoding)."""
        return judge_identity(self.rubric, self.backend.identity(), self.decoding, PROMPT_SHA256)

    def _generate(self, requests: list[GenerationRequest], decoding: Decoding) -> list[str | None]:
        wrapped = _UnderIdentity(self.backend, self.identity)
        generations = generate_cached(wrapped, requests, decoding, self.cache, progress=self.progress)
        return [g.text for g in generations]

    def score(self, items: Sequence[JudgeItem], *, sample: int = 0, temperature: float = 0.0) -> list[JudgeScore]:
        """Absolute scores, one per item, in order.

        Args:
            items: the replies.
            sample: repeat index; with ``temperature`` > 0 each index is an independent sampled verdict.
            temperature: 0 for the greedy verdict; > 0 to sample (test-retest probe).
        """
        decoding = replace(self.decoding, temperature=temperature)
        requests = [GenerationRequest(item.id, "judge", absolute_messages(self.rubric, item.input, item.output),
                                      sample=sample) for item in items]
        identity = self.identity
        scores = []
        for item, raw in zip(items, self._generate(requests, decoding), strict=True):
            v = parse_absolute(raw, self.rubric)
            scores.append(JudgeScore(item.id, item.variant, sample, v.score, v.reason, v.raw, v.error, identity,
                                     self.rubric.sha256))
        unscored = sum(s.judge is None for s in scores)
        logger.info("judged %d items, %d unscored", len(scores), unscored)
        return scores

    def compare(self, pairs: Sequence[tuple[JudgeItem, JudgeItem]]) -> list[PairOutcome]:
        """Each pair judged in both orders (A/B, then B/A), so position bias cancels and can be measured."""
        requests = []
        for one, two in pairs:
            requests.append(GenerationRequest(f"{one.id}|{two.id}", "judge-pair",
                                              pairwise_messages(self.rubric, one.input, one.output, two.output)))
            requests.append(GenerationRequest(f"{two.id}|{one.id}", "judge-pair",
                                              pairwise_messages(self.rubric, one.input, two.output, one.output)))
        texts = self._generate(requests, self.decoding)
        return [PairOutcome(one.id, two.id, parse_pairwise(texts[2 * i]), parse_pairwise(texts[2 * i + 1]))
                for i, (one, two) in enumerate(pairs)]
