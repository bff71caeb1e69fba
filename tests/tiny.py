"""Tiny random-weight models built from a config, for fast mechanical tests.

They share the embedded model's tokenizer and chat template (converted once into the
harness cache), so rendering and labels are the real ones.
"""

from __future__ import annotations

import json
from pathlib import Path

from harness.models import DEFAULT_MODEL, load_tokenizer

SYSTEM = "You are a support triage bot. Reply only with JSON."


def make_tiny_checkpoint(folder: Path, seed: int = 0) -> Path:
    """Save a 2-layer Llama with random weights and the real tokenizer into ``folder``."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    tokenizer = load_tokenizer(DEFAULT_MODEL)
    torch.manual_seed(seed)
    config = LlamaConfig(
        vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=512,
        bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id, tie_word_embeddings=True,
    )
    model = LlamaForCausalLM(config)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def triage_line(user: str, category: str, priority: str = "low", needs_human: bool = False) -> str:
    """One chat JSONL line in the demo's triage format."""
    output = json.dumps({"category": category, "priority": priority, "needs_human": needs_human})
    messages = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": user},
                {"role": "assistant", "content": output}]
    return json.dumps({"messages": messages})


def write_triage_file(path: Path, n: int, offset: int = 0) -> Path:
    """A valid file of ``n`` distinct short triage examples (distinct wording, no near duplicates)."""
    categories = ["billing", "account", "bug", "how_to"]
    words = ["invoice", "password", "crash", "export", "login", "refund", "chart", "upload", "plan", "token",
             "widget", "sync", "mobile", "email", "report", "team"]
    lines = []
    for i in range(offset, offset + n):
        a, b, c = words[i % 16], words[(i // 16) % 16], words[(i // 256) % 16]
        lines.append(triage_line(f"ticket {i}: the {a} and {b} broke near {c} ({i * 7919 % 10007})", categories[i % 4]))
    path.write_text("\n".join(lines) + "\n")
    return path


def make_adapter(base: Path, folder: Path, *, seed: int, effective: bool = True) -> Path:
    """Save a LoRA adapter for ``base``; ``effective`` gives lora_B random weights (peft starts it at zero)."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    model = get_peft_model(AutoModelForCausalLM.from_pretrained(base),
                           LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"], task_type="CAUSAL_LM"))
    if effective:
        generator = torch.Generator().manual_seed(seed)
        with torch.no_grad():
            for name, parameter in model.named_parameters():
                if "lora_B" in name:
                    parameter.copy_(torch.randn(parameter.shape, generator=generator) * 0.5)
    model.save_pretrained(folder)
    return folder
