"""Token losses before and after the padding fix (cache key ``token-loss-v2``), on the embedded model.

The forgetting check's losses were computed, up to key v1, by the local backend's own left-padded
loop (batch 8): without position ids, and with a padded position's prediction of each row's first
token counted in its mean, so a text's loss depended on the batch it shared. Since v2 the backend
calls ``harness.models.losses.mean_token_losses`` (right padding). This script computes both on
the forgetting check's texts (``builtin:general-text``) with the base model and prints the
per-text differences and the change of the mean (the figure the check compares against).

    python bench/loss_padding.py [--batch 8]

Last line: ``max |v1 - v2| = X.XXXX``.
"""

from __future__ import annotations

import argparse
import os
import platform
from pathlib import Path
from typing import Any

import torch


def v1_losses(model: Any, tokenizer: Any, texts: list[str], batch_size: int) -> list[float]:
    """The backend's loop up to cache key v1, verbatim (left padding from the backend's tokenizer)."""
    tokenizer.padding_side = "left"
    losses: list[float] = []
    for start in range(0, len(texts), batch_size):
        encoded = tokenizer(list(texts[start : start + batch_size]), return_tensors="pt", padding=True)
        with torch.inference_mode():
            logits = model(**encoded).logits[:, :-1].float()
        targets = encoded["input_ids"][:, 1:]
        mask = encoded["attention_mask"][:, 1:].float()
        nll = torch.nn.functional.cross_entropy(logits.transpose(1, 2), targets, reduction="none")
        losses += ((nll * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1)).tolist()
    return losses


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=8)
    args = parser.parse_args()
    from harness.config.file import builtin_path
    from harness.eval.backends.local import LocalBackend
    from harness.gate.probes import forgetting_texts
    from harness.models import DEFAULT_MODEL

    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    print(f"machine: {cpu}; {torch.get_num_threads()} threads; load average {os.getloadavg()[0]:.1f}")
    texts = forgetting_texts(builtin_path("builtin:general-text"))
    backend = LocalBackend(DEFAULT_MODEL, device="cpu")
    v2 = backend.token_losses(texts, None, batch_size=args.batch)
    v2_alone = backend.token_losses(texts, None, batch_size=1)
    v1 = v1_losses(backend.model, backend.tokenizer, texts, args.batch)
    v1_alone = v1_losses(backend.model, backend.tokenizer, texts, 1)
    backend.tokenizer.padding_side = "left"
    diffs = [a - b for a, b in zip(v1, v2, strict=True)]
    mean = lambda xs: sum(xs) / len(xs)  # noqa: E731
    print(f"{len(texts)} texts, batch {args.batch}")
    print(f"v2 batched vs alone: max |diff| {max(abs(a - b) for a, b in zip(v2, v2_alone, strict=True)):.2e}")
    print(f"v1 batched vs alone: max |diff| {max(abs(a - b) for a, b in zip(v1, v1_alone, strict=True)):.4f}")
    print(f"v1 alone vs v2 alone: max |diff| {max(abs(a - b) for a, b in zip(v1_alone, v2_alone, strict=True)):.2e}")
    print(f"mean loss: v1 {mean(v1):.4f}, v2 {mean(v2):.4f} (change {mean(v1) - mean(v2):+.4f}); "
          f"per text v1 - v2: min {min(diffs):+.4f}, max {max(diffs):+.4f}")
    print(f"max |v1 - v2| = {max(abs(d) for d in diffs):.4f}")


if __name__ == "__main__":
    main()
