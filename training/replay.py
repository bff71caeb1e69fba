"""Replay against forgetting: general examples mixed into training.

Two sources, usable together: a chat dataset (``replay.dataset``) and self-distillation
(``replay.prompts``): the base model's own greedy replies to general prompts, generated
once through the generation cache. Replay must not overlap the gate's general items or
forgetting text (exactly or nearly), or the gate would grade the adapter on answers it was
trained on; that is checked before any model loads.
"""

from __future__ import annotations

import json
import logging
import random
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from harness.training.config import BUILTIN_PREFIX, TrainConfig

from harness.data import load_examples
from harness.data.load import read_lines
from harness.data.neardup import DEFAULT_THRESHOLD, find_near_duplicates
from harness.data.normalize import normalize_text
from harness.errors import InputError
from harness.fileio import sha256_file, sha256_text
from harness.records import Example

log = logging.getLogger(__name__)

VARIANT = "replay-self-distill"


class ReplayOverlap(InputError):
    """A replay example repeats or nearly repeats a text the gate scores the candidate on."""

    code = "replay-overlap"


@dataclass(frozen=True)
class ReplayText:
    """One text the overlap check compares, with where it came from."""

    text: str
    path: str
    line: int


@dataclass(frozen=True)
class ReplayPrompt:
    """A self-distillation prompt from line ``line`` of ``path``."""

    prompt: str
    path: str
    line: int


def prompts_path(spec: str) -> Path:
    """The file behind ``replay.prompts`` (``builtin:replay`` is the set shipped with harness)."""
    if spec.startswith(BUILTIN_PREFIX):
        name = spec.removeprefix(BUILTIN_PREFIX)
        path = Path(str(resources.files("harness") / "resources" / f"{name}_prompts.jsonl"))
        if not path.is_file():
            raise InputError(f"unknown built-in replay prompt set {spec!r}; use builtin:replay", path=spec,
                             code="bad-config")
        return path
    return Path(spec)


def load_prompts(spec: str) -> list[ReplayPrompt]:
    """Read a prompt file: one JSON object with a non-empty ``prompt`` string per line.

    Raises:
        InputError: ``path:line`` of the first bad line, or the file is missing or empty.
    """
    path = prompts_path(spec)
    prompts = []
    for number, line in enumerate(read_lines(path), 1):
        if not line.strip():
            continue
        try:
            prompt = json.loads(line).get("prompt")
        except (json.JSONDecodeError, AttributeError):
            prompt = None
        if not isinstance(prompt, str) or not prompt.strip():
            raise InputError('each line must be a JSON object with a non-empty "prompt" string', path=str(path),
                             line=number, code="bad-replay-prompt")
        prompts.append(ReplayPrompt(prompt, str(path), number))
    if not prompts:
        raise InputError("no replay prompts in the file; add some or drop replay.prompts", path=str(path), line=0,
                         code="bad-replay-prompt")
    return prompts


def exclude_paths(config: TrainConfig) -> list[str]:
    """The gate's general items and forgetting text: ``replay.exclude``, else those of harness.yaml beside lora.yaml."""
    if config.replay.exclude is not None:
        return config.replay.exclude
    beside = Path(config.source).resolve().parent / "harness.yaml" if config.source else None
    if beside is None or not beside.is_file():
        log.warning("no replay.exclude and no harness.yaml beside the config: replay is not checked against a gate")
        return []
    from harness.gate.run import load_gate

    _, rules = load_gate(beside)
    return [str(p) for p in (rules.general.items, rules.forgetting.text) if p]


def reference_texts(path: str) -> list[ReplayText]:
    """The texts of a gate file: each line's ``prompt``, ``text`` or non-system message contents."""
    texts = []
    for number, line in enumerate(read_lines(path), 1):
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            continue
        if not isinstance(row, dict):
            continue
        parts = [row[k] for k in ("prompt", "text") if isinstance(row.get(k), str)]
        parts += [m["content"] for m in row.get("messages") or [] if isinstance(m, dict)
                  and m.get("role") != "system" and isinstance(m.get("content"), str)]
        texts += [ReplayText(part, path, number) for part in parts]
    return texts


def check_overlap(replay: list[ReplayText], exclude: list[str]) -> dict[str, Any]:
    """Refuse replay texts equal or near-equal to any text of the ``exclude`` files.

    Raises:
        ReplayOverlap: at the first overlapping replay text, with the count and the gate file's line.
    """
    references = [t for path in exclude for t in reference_texts(path)]
    ref_norm = [normalize_text(t.text) for t in references]
    exact = {text: i for i, text in enumerate(ref_norm)}
    queries = [normalize_text(t.text) for t in replay]
    hits = {q: (exact[text], 1.0) for q, text in enumerate(queries) if text in exact}
    for near in find_near_duplicates(queries, ref_norm, DEFAULT_THRESHOLD):
        hits.setdefault(near.query, (near.reference, near.similarity))
    if hits:
        first = min(hits)
        ref, similarity = references[hits[first][0]], hits[first][1]
        raise ReplayOverlap(
            f"replay text is {similarity:.0%} similar to {ref.path}:{ref.line}, which the gate scores the candidate on "
            f"({len(hits)} overlapping replay texts in all); remove them from replay", path=replay[first].path,
            line=replay[first].line)
    return {"files": [{"path": p, "sha256": sha256_file(p)} for p in exclude], "texts_compared": len(references),
            "overlaps_found": 0}


def example_texts(examples: list[Example]) -> list[ReplayText]:
    """Every non-system message of chat examples, for the overlap check (outputs included)."""
    return [ReplayText(m["content"], e.path, e.line) for e in examples for m in e.messages
            if m.get("role") != "system" and isinstance(m.get("content"), str)]


def plan_replay(config: TrainConfig, n_task: int) -> tuple[list[Example], list[ReplayPrompt], dict[str, Any]]:
    """Choose the replay mix before any model loads: dataset examples, prompts to self-distill, provenance.

    ``round(n_task * share)`` items are drawn from the pool (dataset examples and prompts
    together) in a seeded order, so a larger share keeps the smaller share's items.

    Raises:
        ReplayOverlap: a replay text overlaps the gate's general items or forgetting text.
        InputError: a bad prompt file.
    """
    replay = config.replay
    dataset = load_examples(replay.dataset) if replay.dataset else []
    prompts = load_prompts(replay.prompts) if replay.prompts else []
    if not dataset and not prompts:
        return [], [], {}
    overlap = check_overlap(example_texts(dataset) + [ReplayText(p.prompt, p.path, p.line) for p in prompts],
                            exclude_paths(config))
    pool: list[Example | ReplayPrompt] = [*dataset, *prompts]
    random.Random(config.seed).shuffle(pool)
    chosen = pool[: min(len(pool), round(n_task * replay.share))]
    examples = [c for c in chosen if isinstance(c, Example)]
    picked = [c for c in chosen if isinstance(c, ReplayPrompt)]
    provenance: dict[str, Any] = {"share": replay.share, "task_examples": n_task, "exclude": overlap}
    if replay.dataset:
        provenance["dataset"] = {"path": replay.dataset, "sha256": sha256_file(replay.dataset), "pool": len(dataset),
                                 "used": len(examples)}
    if replay.prompts:
        provenance["self_distillation"] = {"prompts": replay.prompts, "prompts_sha256": sha256_file(prompts_path(replay.prompts)),
                                           "pool": len(prompts), "chosen": len(picked)}
    return examples, picked, provenance


def replies_hash(examples: list[Example]) -> str:
    """sha256 of the self-distilled conversations, in training order."""
    return sha256_text(json.dumps([list(e.messages) for e in examples], sort_keys=True, ensure_ascii=False))
