"""Render cases under each variant: the prompt-only, RAG and fine-tuned interventions.

Every variant produces plain message lists; the backend applies the model's own chat
template (:func:`harness.models.chat.render`, the function training uses), so train and eval
can never disagree on the format.

- ``prompt``: the variant's system prompt (or the case's own) + few-shot turns + the case.
- ``rag`` over ``examples``: the k training examples most similar to the case's user turn,
  shown as demonstration turns after the system prompt (the strongest cheap baseline for
  a format or routing task).
- ``rag`` over ``documents``/``passages``: the k best passages, put into the system prompt
  with :data:`DEFAULT_RAG_TEMPLATE` (or the variant's ``template``, which must contain
  ``{passages}``).
- ``adapter``: the case as written (the training format) with the variant's adapter active.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from harness.config.eval_config import VariantSpec
from harness.errors import ConfigError
from harness.eval.retrieval import BM25Retriever, CorpusKind, Passage, load_corpus
from harness.records import Case, GenerationRequest

DEFAULT_RAG_TEMPLATE = (
    "Answer the customer's question using only the documents below. "
    "If they do not contain the answer, say that you do not know.\n\n{passages}"
)

Messages = tuple[dict[str, Any], ...]


class Variant:
    """A variant ready to render cases (its retriever built once)."""

    def __init__(self, spec: VariantSpec) -> None:
        self.spec = spec
        corpus_kind = cast(CorpusKind, spec.corpus_kind)
        self.retriever = BM25Retriever(load_corpus(spec.corpus or "", corpus_kind)) if spec.kind == "rag" else None
        if spec.template is not None and "{passages}" not in spec.template:
            raise ConfigError(f"variants.{spec.name}.template must contain {{passages}}")

    @property
    def adapter(self) -> str | None:
        """The adapter name the backend activates (the variant name), None for base-model variants."""
        return self.spec.name if self.spec.kind == "adapter" else None

    def requests(self, cases: Sequence[Case], repeats: int = 1) -> list[GenerationRequest]:
        """One request per case and repeat."""
        rendered = self.render(cases)
        return [GenerationRequest(case.id, self.spec.name, messages, self.adapter, sample)
                for case, messages in zip(cases, rendered, strict=True) for sample in range(repeats)]

    def render(self, cases: Sequence[Case]) -> list[Messages]:
        """The message list the model sees for each case."""
        if self.retriever is None:
            shots = [turn for user, assistant in self.spec.few_shot
                     for turn in ({"role": "user", "content": user}, {"role": "assistant", "content": assistant})]
            return [self._with_system(case, tuple(shots)) for case in cases]
        hits = self.retriever.search([case.user_text for case in cases], self.spec.k)
        if self.spec.corpus_kind == "examples":
            return [self._with_system(case, tuple(t for p in found for t in p.demonstration))
                    for case, found in zip(cases, hits, strict=True)]
        return [self._with_passages(case, found) for case, found in zip(cases, hits, strict=True)]

    def _with_system(self, case: Case, shots: Messages, system: str | None = None) -> Messages:
        own_system = [m["content"] for m in case.messages[:1] if m["role"] == "system"]
        system = system if system is not None else (self.spec.system if self.spec.system is not None else
                                                     (own_system[0] if own_system else None))
        head = ({"role": "system", "content": system},) if system else ()
        turns = tuple(m for m in case.messages if m["role"] != "system")
        return head + shots + turns

    def _with_passages(self, case: Case, passages: list[Passage]) -> Messages:
        listing = "\n\n".join(f"[{i}] {p.title}\n{p.text}" if p.title else f"[{i}] {p.text}"
                              for i, p in enumerate(passages, 1))
        context = (self.spec.template or DEFAULT_RAG_TEMPLATE).format(passages=listing)
        own_system = [m["content"] for m in case.messages[:1] if m["role"] == "system"]
        base = self.spec.system if self.spec.system is not None else (own_system[0] if own_system else "")
        return self._with_system(case, (), system=(base + "\n\n" + context).strip())
