"""Replay that matches the base model's distribution: learning without forgetting.

Plain replay (``replay.loss: text``) trains on the replay replies with cross-entropy, which
also *sharpens* the model on them: self-distilled greedy replies pull the candidate towards
its own most likely phrasing (measured on the demo: arithmetic answers drifted from
"12 + 12 = 24." to "12 + 12 is a classic problem ..."). ``replay.loss: kl`` instead asks the
candidate to keep the base model's whole next-token distribution on every replay reply token,
``KL(base || candidate)`` (Li & Hoiem, *Learning without Forgetting*), while task examples keep
their cross-entropy. The base distribution comes from the same network with the adapter
switched off, so no second model is loaded; it costs one no-grad forward pass over the replay
rows of each batch.
"""

from __future__ import annotations

from typing import Any

from transformers import Trainer

REPLAY_COLUMN = "replay"


class AnchoredTrainer(Trainer):  # type: ignore[misc]  # transformers ships no type information
    """A ``Trainer`` whose replay rows are held to the base model's distribution (``kl_weight`` > 0)."""

    def __init__(self, *args: Any, kl_weight: float | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.kl_weight = kl_weight

    def compute_loss(self, model: Any, inputs: dict[str, Any], return_outputs: bool = False,
                     num_items_in_batch: Any = None) -> Any:
        replay = inputs.pop(REPLAY_COLUMN, None)
        inputs.pop("length", None)
        if self.kl_weight is None or replay is None or not bool(replay.any()):
            return super().compute_loss(model, inputs, return_outputs=return_outputs,
                                        num_items_in_batch=num_items_in_batch)
        labels, rows = inputs.pop("labels"), replay.bool()
        outputs = model(**inputs)
        loss = anchored_loss(outputs.logits, self._base_logits(model, inputs, rows), labels, rows, self.kl_weight,
                             num_items_in_batch)
        return (loss, outputs) if return_outputs else loss

    def _base_logits(self, model: Any, inputs: dict[str, Any], rows: Any) -> Any:
        """The base model's logits on the replay rows (the adapter switched off, no gradient)."""
        import torch

        peft_model = self.accelerator.unwrap_model(model)
        subset = {key: value[rows] for key, value in inputs.items() if hasattr(value, "shape") and value.shape[:1] == rows.shape}
        with torch.no_grad(), peft_model.disable_adapter():
            return peft_model(**subset).logits


def anchored_loss(logits: Any, base_logits: Any, labels: Any, replay: Any, kl_weight: float,
                  num_items_in_batch: Any = None) -> Any:
    """Task rows: next-token cross-entropy; replay rows: ``kl_weight`` x KL(base || candidate) per label token.

    Args:
        logits: the candidate's logits, ``[batch, length, vocab]``.
        base_logits: the base model's logits on the replay rows only, ``[replay rows, length, vocab]``.
        labels: ``[batch, length]``, ``-100`` where nothing is learnt (prompt and padding).
        replay: ``[batch]`` booleans, True for replay rows.
        kl_weight: weight of a replay token against a task token.
        num_items_in_batch: label tokens over the whole (accumulated) batch, as ``Trainer`` passes it;
            the sum is divided by it, else by this batch's label tokens (the model's own convention).
    """
    import torch
    import torch.nn.functional as F

    targets = labels[:, 1:]
    mask = targets != -100
    shifted = logits[:, :-1]
    task = mask & ~replay[:, None]  # only label positions reach the vocabulary-wide softmax: prompts and padding cost nothing
    total = F.cross_entropy(shifted[task].float(), targets[task], reduction="sum")
    if bool(replay.any()):
        replay_mask = mask[replay]
        log_p = F.log_softmax(shifted[replay][replay_mask].float(), dim=-1)
        log_q = F.log_softmax(base_logits[:, :-1][replay_mask].float(), dim=-1)
        total = total + kl_weight * (log_q.exp() * (log_q - log_p)).sum()
    denominator = num_items_in_batch if num_items_in_batch is not None else mask.sum()
    if isinstance(denominator, torch.Tensor):
        denominator = denominator.to(total.device)
    return total / denominator
