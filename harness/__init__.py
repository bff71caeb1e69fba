"""harness: an evaluation-centric regression harness for teams that fine-tune LLMs."""

__version__ = "0.1.0"
