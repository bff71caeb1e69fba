"""Rubrics and the judge identity.

A rubric is data (YAML): an ordinal scale, the instructions and one description per level.
The judge identity is the sha256 of everything that can change a verdict: the prompt
templates' version and text, the rubric file's bytes, the judge model and its decoding.
Calibrations and cached judge calls are bound to it.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import yaml

from harness.errors import ConfigError, InputError
from harness.fileio import sha256_file, sha256_text
from harness.records import Decoding

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Rubric:
    """An ordinal rubric read from YAML."""

    name: str
    """What the rubric measures, e.g. ``house_style``."""
    scale_min: int
    """Lowest score on the scale."""
    scale_max: int
    """Highest score on the scale."""
    instructions: str
    """What the judge (and a human labeller) checks."""
    levels: dict[int, str]
    """One description per score."""
    path: str
    """The YAML file."""
    sha256: str
    """sha256 of the file's bytes: part of the judge identity and of every calibration."""

    @property
    def labels(self) -> list[int]:
        """Every score on the scale, ascending."""
        return list(range(self.scale_min, self.scale_max + 1))

    def describe(self) -> str:
        """The rubric as text: instructions, then one line per level from best to worst."""
        lines = [self.instructions.strip(), ""]
        lines += [f"{score}: {self.levels[score].strip()}" for score in reversed(self.labels)]
        return "\n".join(lines)


def load_rubric(path: str | Path) -> Rubric:
    """Read and validate a rubric file.

    Raises:
        InputError: the file is missing or not YAML.
        ConfigError: a key is missing, the scale is not two integers ``min < max`` or a level lacks a description.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError("rubric file not found; pass --rubric with a rubric YAML (see suites/house_style/judge/rubric.yaml)",
                         path=str(path), code="missing-file")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise InputError(f"not valid YAML: {exc}", path=str(path), code="bad-yaml") from exc
    if not isinstance(data, dict) or not {"name", "scale", "instructions", "levels"} <= data.keys():
        raise ConfigError("a rubric needs the keys name, scale {min, max}, instructions and levels", path=str(path))
    scale = data["scale"]
    if not (isinstance(scale, dict) and isinstance(scale.get("min"), int) and isinstance(scale.get("max"), int)
            and scale["min"] < scale["max"]):
        raise ConfigError(f"scale must be {{min: INT, max: INT}} with min < max; got {scale!r}", path=str(path))
    levels = {int(k): str(v) for k, v in (data["levels"] or {}).items()}
    missing = [s for s in range(scale["min"], scale["max"] + 1) if not levels.get(s)]
    if missing:
        raise ConfigError(f"levels lack a description for {', '.join(map(str, missing))}", path=str(path))
    return Rubric(str(data["name"]), scale["min"], scale["max"], str(data["instructions"]), levels, str(path),
                  sha256_file(path))


def judge_identity(rubric: Rubric, model: dict[str, Any], decoding: Decoding, prompt_sha256: str) -> str:
    """The judge identity: sha256 over prompt templates, rubric bytes, judge model and decoding.

    Args:
        rubric: the rubric in use.
        model: the backend's identity (model path or id and weights hash; never a key).
        decoding: the judge's decoding parameters.
        prompt_sha256: hash of the prompt templates (:data:`harness.judge.prompts.PROMPT_SHA256`).
    """
    identity = sha256_text(json.dumps({"prompt": prompt_sha256, "rubric": rubric.sha256, "model": model,
                                       "decoding": asdict(decoding)}, sort_keys=True))
    logger.debug("judge identity %s (rubric %s)", identity, rubric.sha256)
    return identity
