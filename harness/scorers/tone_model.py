"""A fitted tone model, stored like a candidate: its hash, the data it saw, its held-out accuracy and calibration.

``<store>/<key>.json`` where the key hashes everything that made it (the files' hashes and
roles, the embedding model, the fluency model, the split share): the same inputs load the
stored model instead of fitting again, and any change fits a new one beside it.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from harness.fileio import atomic_write_json, make_folder, sha256_text
from harness.scorers.tone_axes import FluencyReference, MeaningAnchors, meaning_anchors, sorted_losses
from harness.scorers.tone_classifier import FittedClassifier, HeldOut, StyleClassifier, fit_classifier, is_heldout
from harness.scorers.tone_config import ToneSection
from harness.scorers.tone_data import TextSource, load_tone_data

logger = logging.getLogger(__name__)

SCHEMA_VERSION = 1
Encode = Callable[[Sequence[str]], np.ndarray]
Losses = Callable[[Sequence[str]], list[float | None]]


@dataclass(frozen=True)
class ToneModel:
    """Everything the tone scorer learned from the training split, with its evidence."""

    key: str
    """sha256 of what made it (files, roles, embedding model, fluency model, options): the file name in the store."""
    sha256: str
    """sha256 of the fitted content (classifier weights, anchors, fluency references)."""
    created_at: str
    encoder: str
    """The embedding model the classifier and anchors were computed with."""
    data: tuple[TextSource, ...]
    """The files it saw and what each was taken as."""
    n_train: int
    """Examples the classifier was fitted on."""
    classifier: StyleClassifier | None
    heldout: HeldOut | None
    """The classifier on its own held-out split; None when there were too few examples to test it."""
    refused: str | None
    """Why the model may not score (the classifier could not be shown to beat chance); None: it may."""
    anchors: MeaningAnchors
    fluency: FluencyReference | None
    """The references' token losses; None with ``fluency: false``."""
    schema_version: int = SCHEMA_VERSION

    def to_dict(self) -> dict[str, object]:
        """The stored JSON object."""
        return asdict(self)


def model_key(config: ToneSection, sources: Sequence[TextSource], encoder: str, fluency_model: str | None) -> str:
    """The hash of what makes a tone model (the files by role and content hash, so another checkout finds it)."""
    contents = [[s.role, s.sha256, s.n] for s in sources]  # what the files hold, not where they are: portable
    return sha256_text(json.dumps({"sources": contents, "encoder": encoder, "fluency": fluency_model,
                                   "heldout_share": config.heldout_share, "min_heldout": config.min_heldout,
                                   "schema_version": SCHEMA_VERSION}, sort_keys=True))


def fit_tone_model(config: ToneSection, encoder: str, encode: Encode, losses: tuple[str, Losses] | None,
                   store: Path) -> ToneModel:
    """Load the stored tone model for these inputs, or fit it and store it.

    Args:
        config: the ``scoring.tone`` section.
        encoder: the embedding model's identity.
        encode: texts → unit-length embeddings.
        losses: (fluency model identity, texts → mean token losses), or None without fluency.
        store: the folder of stored tone models.
    """
    data = load_tone_data(config)
    key = model_key(config, data.sources, encoder, losses[0] if losses else None)
    path = store / f"{key[:16]}.json"
    if path.is_file():
        stored = load_tone_model(path)
        if stored is not None and stored.key == key:
            return stored
    share = config.heldout_share
    fitted: FittedClassifier = fit_classifier(encode(data.target), encode(data.contrast),
                                              [is_heldout(t, share) for t in [*data.target, *data.contrast]],
                                              min_heldout=config.min_heldout)
    pairs = [(q, r) for q, r in data.pairs if q.strip() and r.strip()]
    anchors = meaning_anchors(encode([q for q, _ in pairs]), encode([r for _, r in pairs]))
    reference = FluencyReference(losses[0], sorted_losses(losses[1](data.target))) if losses else None
    content = json.dumps([asdict(fitted.classifier) if fitted.classifier else None, asdict(anchors),
                          asdict(reference) if reference else None], sort_keys=True)
    model = ToneModel(key, sha256_text(content), dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), encoder,
                      tuple(data.sources), fitted.n_train, fitted.classifier, fitted.heldout, fitted.refused, anchors,
                      reference)
    make_folder(store)
    atomic_write_json(path, model.to_dict())
    logger.info("tone model %s stored at %s", key[:12], path)
    return model


def load_tone_model(path: str | Path) -> ToneModel | None:
    """A stored tone model; None when the file is damaged or of another schema version (it is then refitted)."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        if data.get("schema_version") != SCHEMA_VERSION:
            return None
        classifier = data["classifier"]
        return ToneModel(
            key=data["key"], sha256=data["sha256"], created_at=data["created_at"], encoder=data["encoder"],
            data=tuple(TextSource(**s) for s in data["data"]), n_train=int(data["n_train"]),
            classifier=StyleClassifier(tuple(classifier["coef"]), classifier["intercept"], classifier["c"])
            if classifier else None,
            heldout=HeldOut(**data["heldout"]) if data["heldout"] else None, refused=data["refused"],
            anchors=MeaningAnchors(**data["anchors"]),
            fluency=FluencyReference(data["fluency"]["model"], tuple(data["fluency"]["losses"]))
            if data["fluency"] else None)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        logger.warning("stored tone model %s is unreadable (%s); fitting again", path, exc)
        return None
