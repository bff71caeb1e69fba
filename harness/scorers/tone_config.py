"""``scoring.tone``: the keys of the tone scorer, checked by the config engine (harness.config.fields).

    scoring:
      style: ./style.yaml                  # rules: a broken one makes tone_joint 0
      tone:
        train: ./data/split/train.jsonl    # its reference replies are the target style
        off_style: ./tone/off_style.jsonl  # optional: text in other styles
        meaning: reference                 # input | reference | both
        fluency: true

``fluency_model`` defaults to the config's ``model`` and ``rules`` to ``scoring.style`` (the
eval config fills both in when it loads).
"""

from __future__ import annotations

from dataclasses import dataclass, field

MEANINGS = ("input", "reference", "both")


@dataclass(frozen=True)
class ToneSection:
    """``scoring.tone``: what the style classifier learns from, what meaning is kept against, fluency on or off."""

    train: str = field(metadata={"help": "chat JSONL of training examples: their final assistant replies are the "
                                 "target style (and their user messages contrast, with contrast_inputs)", "path": True})
    """Training examples; their replies are the target style. Never the held-out cases."""
    off_style: str | None = field(default=None, metadata={"help": "JSONL of text in other styles: chat lines (their "
                                                          "final assistant reply) or {\"text\": ...}", "path": True})
    """Text the team says is not the target style."""
    base_replies: str | None = field(default=None, metadata={"help": "the base model's replies to the training prompts, "
                                                             "same format as off_style", "path": True})
    """What the model says before fine-tuning: contrast for the classifier."""
    contrast_inputs: bool = field(default=True, metadata={"help": "use the training examples' user messages as "
                                                          "off-style text (rewriting tasks, and replies to questions)"})
    """The inputs as contrast: a reply that echoes its input should not read as the target style."""
    meaning: str = field(default="reference", metadata={"help": "meaning kept against the reference, the input or "
                                                         "both (the mean of the two)", "choices": MEANINGS})
    """What meaning is kept against."""
    fluency: bool = field(default=True, metadata={"help": "score fluency with the base model's token loss"})
    """Whether the fluency axis is computed (off: the joint is style x meaning)."""
    fluency_model: str | None = field(default=None, metadata={"help": "model whose token loss measures fluency "
                                                              "(default: the config's model; must load locally)"})
    """The language model of the fluency axis."""
    rules: str | None = field(default=None, metadata={"help": "style.yaml whose rules floor the joint score "
                                                      "(default: scoring.style)", "path": True})
    """Rules: a reply that breaks one scores tone_joint 0."""
    heldout_share: float = field(default=0.2, metadata={"help": "share of the classifier's examples held out to "
                                                         "measure its accuracy", "min": 0.05, "max": 0.5})
    """The classifier's own held-out split (by a hash of the text: stable as data grows)."""
    min_heldout: int = field(default=30, metadata={"help": "fewest held-out examples the classifier is tested on",
                                                   "min": 10})
    """Fewer held-out examples than this: the classifier is refused (too little evidence)."""
    store: str | None = field(default=None, metadata={"help": "folder for fitted tone models (default: "
                                                      "<harness cache>/tone)", "path": True})
    """Where fitted tone models are kept, one JSON file per hash."""
