"""Fresh product facts are for retrieval, not for fine-tuning: the suite documents it with numbers.

On questions whose answers live only in the product docs, RAG must beat prompt-only, and the
fine-tuned adapter must not beat RAG: it learned a reply format, not facts.
"""

import numpy as np
import pytest

from harness.errors import InputError
from harness.registry.deployments import resolve_adapter
from harness.scorers.metrics import by_variant, metric_values
from harness.stats import mcnemar_exact, paired_bootstrap

pytestmark = [pytest.mark.harness_suite("facts", version="1"), pytest.mark.slow]


def correct(results, variant):
    return np.array([v or 0.0 for v in metric_values(by_variant(results)[variant], "answer_correct")])


def test_rag_beats_prompt_only_on_fresh_facts(harness_run, record_property):
    results = harness_run(["prompt-only", "rag"])
    base, rag = correct(results, "prompt-only"), correct(results, "rag")
    delta = paired_bootstrap(base, rag)
    p = mcnemar_exact(base, rag)
    record_property("delta", delta.delta)
    record_property("p_value", p)
    assert delta.low > 0, (f"answer_correct: prompt-only {base.mean():.3f}, rag {rag.mean():.3f}, "
                           f"delta {delta.delta:+.3f} CI [{delta.low:+.3f}, {delta.high:+.3f}], p {p:.3g}, n {len(base)}")


def test_fine_tune_does_not_beat_rag_on_facts(harness_run, harness_models, harness_config, record_property):
    reference = harness_models.with_candidate(harness_config).variants["fine-tuned"].adapter or ""
    try:
        resolve_adapter(reference)
    except InputError as exc:  # e.g. triage is served by a prompt or RAG variant: no fine-tune to compare
        pytest.skip(f"no triage fine-tune to compare with RAG: {exc.message}")
    results = harness_run(["rag", "fine-tuned"])
    rag, tuned = correct(results, "rag"), correct(results, "fine-tuned")
    delta = paired_bootstrap(rag, tuned)
    record_property("delta", delta.delta)
    assert delta.low <= 0, (f"the fine-tune beat RAG on facts (delta {delta.delta:+.3f} CI [{delta.low:+.3f}, "
                            f"{delta.high:+.3f}]): check the facts did not leak into its training data")
