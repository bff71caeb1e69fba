"""``decoding.stop_at_json_end``: where a JSON value ends, the stopping criterion, and the backend with it on.

The end-to-end tests use a tiny model taught (a few hundred optimiser steps) to answer each
prompt with a JSON value followed by trailing text, so there is something to stop early.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.config.eval_config import load_eval_config
from harness.eval.backends.local import LocalBackend
from harness.eval.cache import cache_key
from harness.eval.jsonstop import JsonEndCriteria, json_value_end, trim_after_json
from harness.models.chat import render
from harness.records import Decoding, GenerationRequest

ROOT = Path(__file__).resolve().parents[1]

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(alphabet='{}[]"\\ ab\n,:é'),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(alphabet='{}[]"\\ ab:,', max_size=4), inner,
                                                                max_size=3),
    max_leaves=8,
).filter(lambda v: isinstance(v, list | dict))


@given(json_values, st.text(alphabet='{}[]" abc\n.', max_size=12), st.sampled_from(["", " ", "\n  "]))
@settings(max_examples=200, deadline=None)
def test_a_json_value_with_trailing_text_is_trimmed_to_the_value(value, suffix, indent):
    text = json.dumps(value, indent=None if not indent else 1)
    assert trim_after_json(indent + text + suffix) == indent + text
    assert json_value_end(text[:-1]) is None  # one character short is not complete


@given(st.text(alphabet='{}[]"\\ ab,:', max_size=20))
@settings(max_examples=300, deadline=None)
def test_the_end_once_found_never_moves_as_text_is_added(text):
    ends = [json_value_end(text[:k]) for k in range(len(text) + 1)]
    found = [e for e in ends if e is not None]
    assert all(e == found[0] for e in found)
    assert all(ends[k] is not None for k in range(len(ends)) if found and k >= found[0])


@pytest.mark.parametrize(("text", "expected"), [
    ('{"a": "}"} tail', '{"a": "}"}'),
    ('{"a": "say \\"}\\" now"}\nmore', '{"a": "say \\"}\\" now"}'),
    ("[1, [2, {}]] and", "[1, [2, {}]]"),
    ('Sure: {"a": 1} ok', 'Sure: {"a": 1} ok'),        # prose first: kept as generated
    ('```json\n{"a": 1}\n```', '```json\n{"a": 1}\n```'),  # a fence: kept
    ('{"a": [1}', '{"a": [1}'),                       # a mismatched closer: kept
    ('{"a": 1', '{"a": 1'),                           # incomplete: kept
    ("42 is the answer", "42 is the answer"),
])
def test_trim_after_json(text, expected):
    assert trim_after_json(text) == expected


@pytest.mark.slow
def test_the_criterion_fires_at_the_token_that_closes_the_value(tiny_checkpoint):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_checkpoint)
    prompt = tokenizer("<|im_start|>assistant\n", add_special_tokens=False)["input_ids"]
    answer = tokenizer('{"category": "bug", "note": "a } inside"} and then more words', add_special_tokens=False)["input_ids"]
    criterion = JsonEndCriteria(tokenizer, len(prompt))
    import torch

    fired = [bool(criterion(torch.tensor([prompt + answer[:k]]), None)[0]) for k in range(len(answer) + 1)]
    first = fired.index(True)
    assert tokenizer.decode(answer[:first]).endswith("}") and not any(fired[:first])
    assert json.loads(tokenizer.decode(answer[:first])) == {"category": "bug", "note": "a } inside"}


TAUGHT = {"invoice": '{"category": "billing", "priority": "high"} Thanks for writing in, we will look',
          "crash": '[1, 2] and a long tail of words that goes on and on and on',
          "hello": "no json at all here, just words and more words"}


@pytest.fixture(scope="module")
def json_talker(tiny_checkpoint, tmp_path_factory) -> Path:
    """The tiny model taught to answer each TAUGHT prompt with its text (a JSON value, then a tail)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_checkpoint)
    model = AutoModelForCausalLM.from_pretrained(tiny_checkpoint)
    rows = []
    for user, answer in TAUGHT.items():
        prompt = render(tokenizer, [{"role": "user", "content": user}], add_generation_prompt=True)
        rows.append(tokenizer(prompt + answer + tokenizer.eos_token, add_special_tokens=False, return_tensors="pt")["input_ids"])
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-2)
    torch.manual_seed(0)
    for _ in range(150):
        for ids in rows:
            optimiser.zero_grad()
            model(input_ids=ids, labels=ids).loss.backward()
            optimiser.step()
    folder = tmp_path_factory.mktemp("json_talker")
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def requests(prompts: list[str]) -> list[GenerationRequest]:
    return [GenerationRequest(str(i), "v", ({"role": "user", "content": p},)) for i, p in enumerate(prompts)]


@pytest.mark.slow
def test_stopping_drops_only_the_tail_and_saves_tokens(json_talker):
    backend = LocalBackend(str(json_talker), batch_size=3, device="cpu")
    prompts = list(TAUGHT)
    full = backend.generate(requests(prompts), Decoding(max_new_tokens=40))
    assert [g.text for g in full] == list(TAUGHT.values())  # the model learnt its lines: the test can see a tail
    stopped = backend.generate(requests(prompts), Decoding(max_new_tokens=40, stop_at_json_end=True))
    assert [g.text for g in stopped] == [trim_after_json(g.text or "") for g in full]
    assert [g.text for g in stopped][:2] == ['{"category": "billing", "priority": "high"}', "[1, 2]"]
    assert [g.completion_tokens or 0 for g in stopped][:2] < [g.completion_tokens or 0 for g in full][:2]
    assert stopped[2].completion_tokens == full[2].completion_tokens  # no JSON: generated to the end as before
    single = [backend.generate(requests([p]), Decoding(max_new_tokens=40, stop_at_json_end=True))[0].text for p in prompts]
    assert single == [g.text for g in stopped]  # rows stopping at different steps do not disturb each other


def test_the_option_is_part_of_the_cache_key_and_the_config():
    request = requests(["hi"])[0]
    assert cache_key({}, None, request, Decoding()) != cache_key({}, None, request, Decoding(stop_at_json_end=True))
    assert load_eval_config(ROOT / "suites/triage/harness.yaml").decoding.stop_at_json_end is True
    assert load_eval_config(ROOT / "suites/house_style/harness.yaml").decoding.stop_at_json_end is False
