"""A tiny model that answers every chat prompt with the same two tokens and then stops.

Random weights never emit the end-of-turn token, so every self-distilled reply would be
cut at ``max_new_tokens`` and dropped. This model's output head is wired as a chain:
after the assistant header's newline it predicts ``A``, after ``A`` it predicts ``B``,
after ``B`` the end-of-turn token. Embeddings are scaled up so that the last token
dominates the final hidden state; the layers stay random.
"""

from __future__ import annotations

from pathlib import Path

from harness.models import DEFAULT_MODEL, load_tokenizer

REPLY = " fine."


def make_chain_checkpoint(folder: Path) -> Path:
    """Save the chain model (2-layer Llama, real tokenizer) into ``folder``."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    tokenizer = load_tokenizer(DEFAULT_MODEL)
    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=len(tokenizer), hidden_size=64, intermediate_size=64, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=512,
        bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id, tie_word_embeddings=False,
    )
    model = LlamaForCausalLM(config)
    newline = tokenizer("\n", add_special_tokens=False)["input_ids"][-1]
    first, second = tokenizer(REPLY, add_special_tokens=False)["input_ids"]
    with torch.no_grad():
        embed = model.model.embed_tokens.weight
        embed.mul_(50)
        head = model.lm_head.weight
        head.zero_()
        for source, target in ((newline, first), (first, second), (second, tokenizer.eos_token_id)):
            head[target] = embed[source] / embed[source].pow(2).mean().sqrt()
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder
