"""General items whose answers an adapter changed, base model against candidate: what a failed general check shows.

The gate's general check scores the base model and the adapter on the general items; when it fails
while the token-loss forgetting check passes, a person understands it from two or three items
(often a general question answered in the task's output format). The generations come from the
generation cache the check filled (a cached read loads no model); nothing is written.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from harness.config.eval_config import AdapterVariant, EvalConfig, PromptVariant
from harness.config.gate import GateRules
from harness.eval.backends import AttachesAdapters, Backend
from harness.eval.cases import load_cases
from harness.eval.generation import generate_cached
from harness.eval.runner import EvalOptions, open_cache
from harness.eval.variants import Variant
from harness.records import CaseResult
from harness.scorers.base import make_scorer


@dataclasses.dataclass(frozen=True)
class ChangedItem:
    """One general item answered differently with the adapter on."""

    question: str
    base: str
    candidate: str
    base_pass: bool | None
    candidate_pass: bool | None

    def lines(self, width: int = 100) -> list[str]:
        """The item as three indented lines (answers cut at ``width`` characters)."""
        def shown(text: str, passed: bool | None) -> str:
            mark = {True: "pass", False: "FAIL", None: "unscored"}[passed]
            return f"{' '.join(text.split())[:width]!r} ({mark})"

        return [f"    item: {' '.join(self.question.split())[:width]!r}", f"      base:      {shown(self.base, self.base_pass)}",
                f"      candidate: {shown(self.candidate, self.candidate_pass)}"]


def changed_general_items(config: EvalConfig, rules: GateRules, variant: str, adapter: Path, backend: Backend,
                          options: EvalOptions, count: int = 3) -> list[ChangedItem]:
    """Up to ``count`` general items the adapter changed: items it made fail first, then any other changed answer."""
    if not rules.general.items or not isinstance(backend, AttachesAdapters):
        return []
    spec = config.variants[variant]
    if not isinstance(spec, AdapterVariant):
        return []
    base, cand = Variant(PromptVariant(name="base")), Variant(dataclasses.replace(spec, adapter=str(adapter)))
    assert cand.adapter is not None  # an adapter variant renders with its adapter's name
    backend.add_adapter(cand.adapter, adapter, lazy=True)
    cases = load_cases(rules.general.items, "general")
    decoding = dataclasses.replace(config.decoding, max_new_tokens=rules.general.max_new_tokens, stop_at_json_end=False)
    with open_cache(options) as cache:
        generations = generate_cached(backend, base.requests(cases) + cand.requests(cases), decoding, cache,
                                      mode=options.cache_mode, progress=False)
    scorer = make_scorer("general_checks")
    by_id = {c.id: c for c in cases}
    results = [CaseResult(by_id[g.case_id], g) for g in generations]
    for result in results:
        result.scores = scorer.score(result.case, result.generation) if scorer.applies(result.case) else []
    pairs = zip(results[: len(cases)], results[len(cases):], strict=True)
    changed = [ChangedItem(b.case.user_text, b.generation.text or "", c.generation.text or "", _passed(b), _passed(c))
               for b, c in pairs if (b.generation.text or "") != (c.generation.text or "")]
    changed.sort(key=lambda item: not (item.base_pass and item.candidate_pass is False))
    return changed[:count]


def _passed(result: CaseResult) -> bool | None:
    value = next((s.value for s in result.scores if s.metric == "general_pass"), None)
    return None if value is None else value >= 0.5
