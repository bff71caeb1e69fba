"""``tone``: style strength x meaning kept x fluency per case, the way text style transfer is scored.

- ``tone_style``: P(target style) from a logistic regression on all-MiniLM-L6-v2 embeddings,
  fitted on the training split's replies against contrasting text (tone_classifier.py);
- ``tone_meaning``: embedding cosine to the reference and/or input, mapped so an unrelated
  reply scores 0 (tone_axes.py);
- ``tone_fluency``: the base model's mean token loss, mapped against the references' losses;
- ``tone_joint``: their product per case, 0 when a rule of ``style.yaml`` breaks (the "J" of
  ParaDetox, Logacheva et al., ACL 2022).

A tone model whose classifier cannot be shown to beat chance on its own held-out split is
refused: every tone metric is then None with the reason, and the gate is inconclusive.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from harness.errors import ConfigError
from harness.fileio import sha256_text
from harness.models.cache import cache_dir
from harness.models.catalogue import DEFAULT_MODEL
from harness.models.load import LoadedModel, load_model
from harness.models.losses import mean_token_losses
from harness.models.resolve import resolve_model
from harness.models.sentence import SentenceEncoder, encoder_identity
from harness.records import Case, Score
from harness.scorers.base import ScorerBase, register, unscored
from harness.scorers.text import HouseStyle
from harness.scorers.tone_axes import fluency, kept
from harness.scorers.tone_config import ToneSection
from harness.scorers.tone_model import ToneModel, fit_tone_model

logger = logging.getLogger(__name__)


@register("tone")
class ToneScorer(ScorerBase):
    """Tone measured on three axes and their per-case product (see the module doc)."""

    metrics = {"tone_joint": True, "tone_style": True, "tone_meaning": True, "tone_fluency": True}

    def __init__(self, config: ToneSection) -> None:
        if config.fluency and (config.fluency_model or "").startswith("openai:"):
            raise ConfigError(f"tone.fluency needs a model that loads here, not {config.fluency_model!r}; set "
                              "tone.fluency_model to a local model or tone.fluency: false")
        self.config = config
        self.rules = HouseStyle(config.rules) if config.rules else None
        self._encoder: SentenceEncoder | None = None
        self._lm: LoadedModel | None = None
        self._model: ToneModel | None = None
        self._losses: dict[str, float | None] = {}

    def applies(self, case: Case) -> bool:
        return case.reference is not None or self.config.meaning == "input"

    def model(self) -> ToneModel:
        """The fitted (or stored) tone model, built on first use."""
        if self._model is None:
            store = Path(self.config.store) if self.config.store else cache_dir() / "tone"
            losses = (self._fluency_identity(), self.token_losses) if self.config.fluency else None
            self._model = fit_tone_model(self.config, encoder_identity(), self.encode, losses, store)
        return self._model

    def prepare(self, pairs: Sequence[tuple[Case, str]]) -> None:
        """Embed and compute token losses for every text in batches before per-case scoring."""
        if self.model().refused:
            return
        texts = [t for _, t in pairs if t.strip()]
        self.encode(texts + [c.reference or "" for c, _ in pairs] + [c.user_text for c, _ in pairs])
        if self.config.fluency:
            self.token_losses(texts)

    def score_text(self, case: Case, text: str) -> list[Score]:
        model = self.model()
        if model.refused or model.classifier is None:
            return unscored(self.metrics, f"tone model {model.key[:12]} refused: {model.refused}")
        if not text.strip():
            return [Score(metric, 0.0, "empty reply") for metric in self.metrics]
        style = float(model.classifier.probability(self.encode([text]))[0])
        meaning = self.meaning(case, text)
        fluent = fluency(self.token_losses([text])[0], model.fluency) if model.fluency else 1.0
        broken = self.rules.violations(text) if self.rules else []
        joint = 0.0 if broken else style * meaning * fluent
        detail = (f"rule broken: {broken[0]}" if broken else
                  f"style {style:.2f} x meaning {meaning:.2f} x fluency {fluent:.2f} (tone model {model.key[:12]})")
        return [Score("tone_joint", round(joint, 4), detail), Score("tone_style", round(style, 4)),
                Score("tone_meaning", round(meaning, 4)),
                Score("tone_fluency", round(fluent, 4) if model.fluency else None,
                      None if model.fluency else "tone.fluency is off")]

    def meaning(self, case: Case, text: str) -> float:
        """Meaning kept against the reference, the input or both (mean), on [0, 1]."""
        anchors = self.model().anchors
        output = self.encode([text])[0]
        values = []
        if self.config.meaning in ("reference", "both") and case.reference:
            values.append(kept(float(output @ self.encode([case.reference])[0]), anchors.reference_chance, 1.0))
        if self.config.meaning in ("input", "both"):
            values.append(kept(float(output @ self.encode([case.user_text])[0]), anchors.input_chance,
                               anchors.input_matched))
        return float(np.mean(values)) if values else 0.0

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Unit-length embeddings (each text encoded once per scorer)."""
        if self._encoder is None:
            self._encoder = SentenceEncoder("the tone scorer's embeddings")
        return self._encoder.encode(texts)

    def token_losses(self, texts: Sequence[str]) -> list[float | None]:
        """Mean token loss of each text under the fluency model (each text computed once per scorer)."""
        missing = [t for t in dict.fromkeys(texts) if t not in self._losses]
        if missing:
            loaded = self._load_lm()
            self._losses.update(zip(missing, mean_token_losses(loaded.model, loaded.tokenizer, missing), strict=True))
        return [self._losses[t] for t in texts]

    def _load_lm(self) -> LoadedModel:
        if self._lm is None:
            self._lm = load_model(self._fluency_model())
            self._lm.model.eval()
        return self._lm

    def _fluency_model(self) -> str:
        return self.config.fluency_model or DEFAULT_MODEL

    def _fluency_identity(self) -> str:
        ref = resolve_model(self._fluency_model())
        return sha256_text(json.dumps({"spec": ref.spec, "identity": ref.identity}, sort_keys=True, default=str))
