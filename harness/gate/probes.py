"""Gate checks that need more than scored results: the training data, general items, token losses."""

from __future__ import annotations

import dataclasses
import json
import logging
from pathlib import Path

from harness.config.eval_config import EvalConfig, PromptVariant, VariantSpec
from harness.config.gate import GateRules
from harness.data import leakage, load_examples
from harness.data.load import read_lines
from harness.errors import InputError
from harness.eval.backends import AdapterBackend, Backend
from harness.eval.backends.lora_endpoint import EngineError
from harness.eval.cases import load_cases
from harness.eval.runner import EvalOptions, open_cache, run_eval
from harness.fileio import sha256_file
from harness.gate.checks import regression_check
from harness.gate.decision import GateCheck
from harness.manifests import CandidateManifest, TrainingData
from harness.records import Case, Example
from harness.scorers.metrics import by_variant, metric_values
from harness.scorers.scoring import ScoringSection

log = logging.getLogger(__name__)


def as_examples(cases: list[Case]) -> list[Example]:
    return [Example(tuple(c.messages) + ({"role": "assistant", "content": c.reference or ""},),
                    c.metadata.get("source", c.id), i) for i, c in enumerate(cases, 1)]


def leakage_check(config: EvalConfig, manifest: CandidateManifest) -> GateCheck:
    """No held-out case is in the candidate's training data (fails closed when that data is gone or changed)."""
    data = manifest.data or TrainingData()
    dataset, expected = data.dataset, data.dataset_sha256
    if not dataset or not Path(dataset).exists():
        return GateCheck("held-out leakage", "inconclusive", f"the candidate's training data {dataset!r} is not available")
    if sha256_file(dataset) != expected:
        return GateCheck("held-out leakage", "inconclusive", f"{dataset} changed since training (sha256 mismatch)")
    held = as_examples(load_cases(config.cases, config.task))
    leaks = leakage(held, load_examples(dataset))
    if leaks:
        return GateCheck("held-out leakage", "fail", f"{len(leaks)} held-out cases leak from training data, e.g. {leaks[0]}",
                         n=len(held))
    return GateCheck("held-out leakage", "pass", f"none of {len(held)} held-out cases is in the candidate's training data",
                 n=len(held))


def general_config(config: EvalConfig, rules: GateRules) -> EvalConfig:
    """The eval config of the general-capability items: the base model (``base``) and the candidate, default scoring."""
    variants: dict[str, VariantSpec] = {"base": PromptVariant(name="base"), rules.candidate: config.variants[rules.candidate]}
    return dataclasses.replace(config, task="general", cases=rules.general.items or "", variants=variants,
                               scoring=ScoringSection(),
                               decoding=dataclasses.replace(config.decoding, max_new_tokens=rules.general.max_new_tokens,
                                                            stop_at_json_end=False))


def general_check(config: EvalConfig, rules: GateRules, backend: Backend, options: EvalOptions) -> GateCheck:
    """No regression of general_pass on the general-capability items, base model against the candidate."""
    general = general_config(config, rules)
    run = run_eval(general, dataclasses.replace(options, variants=None), backend=backend)
    results = by_variant(run.results)
    base, cand = metric_values(results["base"], "general_pass"), metric_values(results[rules.candidate], "general_pass")
    pairs = [(b, c) for b, c in zip(base, cand, strict=True) if b is not None and c is not None]
    return regression_check("general capability (general_pass)", [p[0] for p in pairs], [p[1] for p in pairs],
                            rules.general.tolerance, rules)


def forgetting_check(rules: GateRules, backend: Backend, options: EvalOptions) -> GateCheck:
    """No rise of the mean token loss on general text beyond the tolerance (needs an adapter-capable backend)."""
    if not isinstance(backend, AdapterBackend):
        return GateCheck("forgetting (token loss)", "inconclusive", "needs the local backend to read token losses")
    texts = forgetting_texts(rules.forgetting.text or "")
    try:
        with open_cache(options) as cache:
            if cache is not None and options.cache_mode == "use":
                base, cand = cache.losses(backend, texts, None), cache.losses(backend, texts, rules.candidate)
            else:
                base, cand = backend.token_losses(texts, None), backend.token_losses(texts, rules.candidate)
    except EngineError as exc:  # an engine that cannot give (or stopped giving) token losses: never a pass
        return GateCheck("forgetting (token loss)", "inconclusive", exc.message)
    mean = sum(base) / len(base)
    return regression_check("forgetting (token loss)", base, cand, rules.forgetting.tolerance, rules,
                            higher_is_better=False, relative_to=mean)


def forgetting_texts(path: str | Path) -> list[str]:
    """The texts of a ``gate.forgetting.text`` file (``{"text": ...}`` per line).

    Raises:
        InputError: missing, not a regular file, not UTF-8, a bad line (with its line), or no text at all.
    """
    texts = []
    for number, line in enumerate(read_lines(path), 1):
        if not line.strip():
            continue
        try:
            text = json.loads(line)["text"]
        except (ValueError, RecursionError, KeyError, TypeError, IndexError):
            text = None
        if not isinstance(text, str) or not text:
            raise InputError('each line must be {"text": "..."} with a non-empty string', path=str(path), line=number,
                             code="bad-text")
        texts.append(text)
    if not texts:
        raise InputError('no text in this file; give one {"text": "..."} per line', path=str(path), code="no-text")
    return texts


def check_gate_files(rules: GateRules) -> None:
    """Read the gate's own input files now, so a bad one fails before the main run, not after it.

    Raises:
        InputError: a bad general-items or forgetting-text file.
    """
    if rules.general.items:
        load_cases(rules.general.items, "general")
    if rules.forgetting.text:
        forgetting_texts(rules.forgetting.text)
