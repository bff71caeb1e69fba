"""Turn a ``base_model`` string into something loadable, with its identity.

Accepted forms: an embedded alias (``smollm2-135m-instruct``), a ``.gguf`` file, a local
checkpoint folder (with ``config.json``), an ``openai:MODEL`` endpoint reference (served
by an OpenAI-compatible server; not loadable in-process), or a Hugging Face model id
(where the network allows).
"""

from __future__ import annotations

import importlib.util
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from harness.errors import ModelNotAvailableError
from harness.models.cache import cached_sha256
from harness.models.catalogue import EMBEDDED, EmbeddedModel
from harness.models.convert import convert_gguf

ModelKind = Literal["embedded", "gguf", "local", "hub", "openai"]
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")
_WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt")


@dataclass(frozen=True)
class ResolvedModel:
    """A model reference resolved on this machine."""

    spec: str
    """What the user wrote."""
    kind: ModelKind
    """Which form ``spec`` took."""
    location: str
    """A local checkpoint folder, a hub id, or the endpoint's model name."""
    identity: dict[str, Any] = field(default_factory=dict)
    """Provenance for manifests: source path or id and a weights hash where one exists."""

    @property
    def loadable(self) -> bool:
        """Whether transformers can load it in this process."""
        return self.kind != "openai"


def embedded_gguf(entry: EmbeddedModel) -> Path:
    """Locate an embedded model's GGUF without importing its package.

    Raises:
        ModelNotAvailableError: the package is not installed (the message has the command).
    """
    spec = importlib.util.find_spec(entry.package)
    if spec is None or not spec.submodule_search_locations:
        raise ModelNotAvailableError(
            f"model {entry.alias!r} needs the package that ships its weights; install it with: {entry.install}"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / entry.filename
    if not path.exists():
        raise ModelNotAvailableError(f"{path} is missing from the package; reinstall with: {entry.install} --force-reinstall")
    return path


def resolve_model(spec: str) -> ResolvedModel:
    """Resolve ``spec`` (see module docstring), converting a GGUF on first use.

    Raises:
        ModelNotAvailableError: nothing on this machine matches ``spec``; the message lists
            the aliases and accepted forms.
    """
    if spec in EMBEDDED:
        gguf = embedded_gguf(EMBEDDED[spec])
        return _from_gguf(spec, "embedded", gguf)
    if spec.startswith("openai:"):
        return ResolvedModel(spec, "openai", spec.removeprefix("openai:"), {"endpoint_model": spec[7:]})
    path = Path(spec).expanduser()
    if spec.endswith(".gguf"):
        if not path.is_file():
            raise ModelNotAvailableError(f"GGUF file not found: {spec}")
        return _from_gguf(spec, "gguf", path)
    if path.is_dir():
        if not (path / "config.json").exists():
            raise ModelNotAvailableError(f"{spec} is a folder without config.json; give a transformers checkpoint")
        return ResolvedModel(spec, "local", str(path.resolve()), _local_identity(path))
    if _HUB_ID.match(spec) and not path.exists():
        return ResolvedModel(spec, "hub", spec, {"hub_id": spec})
    raise ModelNotAvailableError(
        f"unknown model {spec!r}; use an alias ({', '.join(sorted(EMBEDDED))}), a checkpoint folder, "
        "a .gguf file, openai:MODEL, or a Hugging Face id like org/name"
    )


def _from_gguf(spec: str, kind: ModelKind, gguf: Path) -> ResolvedModel:
    folder = convert_gguf(gguf, alias=spec if kind == "embedded" else None)
    identity = {"source": str(gguf), "gguf_sha256": cached_sha256(gguf), "checkpoint": str(folder)}
    return ResolvedModel(spec, kind, str(folder), identity)


def _local_identity(path: Path) -> dict[str, Any]:
    weights = sorted(p for p in path.iterdir() if p.suffix in _WEIGHT_SUFFIXES and p.is_file())
    return {"path": str(path.resolve()), "weights_sha256": {p.name: cached_sha256(p) for p in weights}}
