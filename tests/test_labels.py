"""Labels cover the assistant's tokens and the end-of-turn token, nothing else."""

from __future__ import annotations

import pytest
from harness.training.labels import IGNORE_INDEX, TemplateError, tokenize_conversation

from harness.models import DEFAULT_MODEL, ensure_pad_token, load_tokenizer


@pytest.fixture(scope="module")
def tokenizer():
    return load_tokenizer(DEFAULT_MODEL)


def labelled_text(tokenizer, messages) -> list[str]:
    ids, labels = tokenize_conversation(tokenizer, messages)
    assert len(ids) == len(labels)
    runs, current = [], []
    for token, label in zip(ids, labels, strict=True):
        if label == IGNORE_INDEX:
            if current:
                runs.append(tokenizer.decode(current))
                current = []
        else:
            assert label == token
            current.append(token)
    if current:
        runs.append(tokenizer.decode(current))
    return runs


def test_only_assistant_content_and_end_of_turn_are_labelled(tokenizer):
    messages = [
        {"role": "system", "content": "Reply only with JSON."},
        {"role": "user", "content": "My invoice is wrong."},
        {"role": "assistant", "content": '{"category": "billing"}'},
    ]
    assert labelled_text(tokenizer, messages) == ['{"category": "billing"}<|im_end|>']


def test_every_assistant_turn_is_labelled_unless_weight_zero(tokenizer):
    messages = [
        {"role": "user", "content": "one"},
        {"role": "assistant", "content": "first answer", "weight": 0},
        {"role": "user", "content": "two"},
        {"role": "assistant", "content": "second answer"},
    ]
    assert labelled_text(tokenizer, messages) == ["second answer<|im_end|>"]
    messages[1].pop("weight")
    assert labelled_text(tokenizer, messages) == ["first answer<|im_end|>", "second answer<|im_end|>"]


def test_template_that_rewrites_its_prefix_is_refused(tokenizer):
    class Rewriting:
        chat_template = "x"
        eos_token_id = tokenizer.eos_token_id

        def apply_chat_template(self, turns, tokenize, add_generation_prompt):
            return f"{len(turns)}:" + "|".join(t["content"] for t in turns) + ("?" if add_generation_prompt else "")

    with pytest.raises(TemplateError, match="only appends"):
        tokenize_conversation(Rewriting(), [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}])


def test_pad_token_is_not_eos(tokenizer):
    assert tokenizer.pad_token_id == tokenizer.eos_token_id  # the embedded model ships pad = EOS
    pad = ensure_pad_token(tokenizer)
    assert pad != tokenizer.eos_token_id
    assert tokenizer.pad_token_id == pad
