"""``harness gate CANDIDATE``: evaluate a candidate adapter against the baselines and decide.

The decision (:class:`~harness.gate.decision.Decision`, kept in the candidate folder) lists
every check and the hashes of its inputs. It fails closed: an error while evaluating becomes an *inconclusive*
decision with the error recorded, never an accept.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from harness.adapters import AdapterHasNoEffect, check_adapter_folder
from harness.backends import Backend, make_backend
from harness.cache import GenerationCache
from harness.cases import load_cases
from harness.data import leakage, load_examples
from harness.errors import ConfigError, HarnessError, InputError
from harness.evalconfig import EvalConfig, VariantSpec, load_eval_config
from harness.fileio import sha256_file
from harness.gate.checks import data_check, decide, floor_check, judge_check, primary_check, regression_check
from harness.gate.decision import Decision, GateCheck
from harness.gate.fields import field_check
from harness.gate.rules import GateRules, gate_rules
from harness.gate.store import hash_inputs, write_decision
from harness.metrics import by_variant, metric_values, variant_metrics
from harness.models.cache import cache_dir
from harness.records import Case, Example
from harness.runner import EvalOptions, run_eval
from harness.scoring import ScoringSection

log = logging.getLogger(__name__)


def load_gate(config_path: str | Path) -> tuple[EvalConfig, GateRules]:
    """The eval config and its gate rules.

    Raises:
        ConfigError: the config is invalid or its variants allow no gate (no adapter variant).
    """
    config = load_eval_config(config_path)
    return config, config.rules or gate_rules(config.gate, {n: v.kind for n, v in config.variants.items()},
                                              config.scoring.fields, complain=_complain(str(config_path)))


def _complain(path: str) -> Callable[[str, str], ConfigError]:
    return lambda key, message: ConfigError(message, path=path)


def run_gate(candidate: str | Path, config_path: str | Path, options: EvalOptions | None = None) -> Decision:
    """Evaluate ``candidate`` under the config's gate, record the decision beside it, return it.

    The decision joins ``<candidate>/decisions/`` and becomes ``decision.json`` (the latest).

    Raises:
        InputError: the candidate folder, config or environment is unusable (nothing is written).
    """
    options = options or EvalOptions()
    check_writable(Path(candidate), options.runs_dir)
    decision = gate_decision(candidate, config_path, options)
    write_decision(decision, Path(candidate))
    return decision


def check_writable(candidate: Path, runs_dir: Path) -> None:
    """Refuse, before any work, a runs folder or candidate folder the decision could not be written to.

    Raises:
        InputError: ``runs_dir`` (or a parent) is a file, or a folder is not writable.
    """
    for folder, what in ((runs_dir, "--runs-dir"), (candidate, "candidate folder")):
        existing = next((p for p in [folder, *folder.parents] if p.exists()), Path("."))
        if not existing.is_dir():
            raise InputError(f"{what} {folder}: {existing} is not a folder; give a folder", path=str(folder),
                             code="not-a-folder")
        if not os.access(existing, os.W_OK):
            raise InputError(f"{what} {folder}: {existing} is not writable", path=str(folder), code="not-writable")


def gate_decision(candidate: str | Path, config_path: str | Path, options: EvalOptions | None = None,
                  backend: Backend | None = None) -> Decision:
    """The decision for ``candidate`` (nothing written); ``backend`` reuses a loaded model.

    Raises:
        InputError: the candidate folder, config or environment is unusable.
    """
    candidate = Path(candidate)
    manifest = _manifest(candidate)
    config, rules = load_gate(config_path)
    if manifest.get("task") not in (None, config.task):
        raise InputError(f"candidate was trained for task {manifest['task']!r}, the config gates {config.task!r}",
                         path=str(candidate), code="task-mismatch")
    config = dataclasses.replace(config, variants={**config.variants, rules.candidate: dataclasses.replace(
        config.variants[rules.candidate], adapter=str(candidate.resolve()))})
    data = manifest.get("data") or {}
    inputs = hash_inputs(candidate, config.source, config.cases, data.get("dataset"), data.get("dataset_sha256"))
    checks, run_path, variants = _checks(config, rules, manifest, options or EvalOptions(), backend)
    return Decision(verdict=decide(checks), checks=checks, task=config.task, candidate=candidate.name,
                    created_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), inputs=inputs, variants=variants,
                    rules=dataclasses.asdict(rules), run=str(run_path) if run_path else None,
                    candidate_path=str(candidate.resolve()))


def _manifest(candidate: Path) -> dict[str, Any]:
    check_adapter_folder(candidate)
    path = candidate / "manifest.json"
    if not path.exists():
        raise InputError("manifest.json missing; give a candidate folder written by `harness train`", path=str(candidate))
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"damaged manifest ({exc}); retrain the candidate", path=str(path), code="bad-manifest") from None
    if not isinstance(manifest, dict):
        raise InputError("manifest is not a JSON object; retrain the candidate", path=str(path), code="bad-manifest")
    return manifest


def _checks(config: EvalConfig, rules: GateRules, manifest: dict[str, Any], options: EvalOptions,
            backend: Backend | None) -> tuple[list[GateCheck], Path | None, dict[str, Any]]:
    """The checks, failing closed: an unexpected error is one inconclusive check, an environment error no decision."""
    try:
        return _evaluate(config, rules, manifest, options, backend)
    except AdapterHasNoEffect as exc:
        return [GateCheck("adapter takes effect", "fail", f"{exc.message}: evaluating it would evaluate the "
                          "base model under the candidate's name")], None, {}
    except HarnessError:
        raise
    except OSError as exc:  # the environment, not the candidate: no decision at all
        raise InputError(f"could not evaluate ({type(exc).__name__}: {exc}); nothing was decided or written",
                         code="environment") from None
    except Exception as exc:  # noqa: BLE001 - the gate fails closed on anything unexpected
        log.exception("gate evaluation failed")
        return [GateCheck("evaluation", "inconclusive", f"evaluation failed: {type(exc).__name__}: {exc}")], None, {}


def _evaluate(config: EvalConfig, rules: GateRules, manifest: dict[str, Any], options: EvalOptions,
              backend: Backend | None = None) -> tuple[list[GateCheck], Path | None, dict[str, Any]]:
    backend = backend or make_backend(config)
    options = dataclasses.replace(options, variants=[rules.candidate, *rules.baselines])
    run = run_eval(config, options, backend=backend)
    results = by_variant(run.results)
    checks = [data_check(results, rules)]
    if checks[0].verdict == "pass":
        checks += [primary_check(baseline, results, rules) for baseline in rules.baselines]
        checks += [field_check(baseline, results, rules) for baseline in rules.baselines if rules.fields]
        checks += [floor_check(metric, floor, results[rules.candidate]) for metric, floor in rules.floors.items()]
    else:
        checks.append(GateCheck("comparisons", "inconclusive", "skipped: the data check did not pass"))
    checks.append(_leakage_check(config, manifest))
    if rules.general_items:
        checks.append(_general_check(config, rules, backend, options))
    if rules.forgetting_text:
        checks.append(_forgetting_check(rules, backend, options))
    checks.append(judge_check(rules))
    return checks, run.path, variant_metrics(run.results, rules.fields)


def _as_examples(cases: list[Case]) -> list[Example]:
    return [Example(tuple(c.messages) + ({"role": "assistant", "content": c.reference or ""},),
                    c.metadata.get("source", c.id), i) for i, c in enumerate(cases, 1)]


def _leakage_check(config: EvalConfig, manifest: dict[str, Any]) -> GateCheck:
    data = manifest.get("data") or {}
    dataset, expected = data.get("dataset"), data.get("dataset_sha256")
    if not dataset or not Path(dataset).exists():
        return GateCheck("held-out leakage", "inconclusive", f"the candidate's training data {dataset!r} is not available")
    if sha256_file(dataset) != expected:
        return GateCheck("held-out leakage", "inconclusive", f"{dataset} changed since training (sha256 mismatch)")
    held = _as_examples(load_cases(config.cases, config.task))
    leaks = leakage(held, load_examples(dataset))
    if leaks:
        return GateCheck("held-out leakage", "fail", f"{len(leaks)} held-out cases leak from training data, e.g. {leaks[0]}",
                         n=len(held))
    return GateCheck("held-out leakage", "pass", f"none of {len(held)} held-out cases is in the candidate's training data",
                 n=len(held))


def _general_check(config: EvalConfig, rules: GateRules, backend: Any, options: EvalOptions) -> GateCheck:
    variants = {"base": VariantSpec("base", "prompt"), rules.candidate: config.variants[rules.candidate]}
    general = dataclasses.replace(config, task="general", cases=rules.general_items, variants=variants, scoring=ScoringSection(),
                                  decoding=dataclasses.replace(config.decoding, max_new_tokens=rules.general_max_new_tokens))
    run = run_eval(general, dataclasses.replace(options, variants=None), backend=backend)
    results = by_variant(run.results)
    base, cand = metric_values(results["base"], "general_pass"), metric_values(results[rules.candidate], "general_pass")
    pairs = [(b, c) for b, c in zip(base, cand, strict=True) if b is not None and c is not None]
    return regression_check("general capability (general_pass)", [p[0] for p in pairs], [p[1] for p in pairs],
                            rules.general_tolerance, rules)


def _forgetting_check(rules: GateRules, backend: Any, options: EvalOptions) -> GateCheck:
    if not hasattr(backend, "token_losses"):
        return GateCheck("forgetting (token loss)", "inconclusive", "needs the local backend to read token losses")
    texts = [json.loads(line)["text"] for line in Path(rules.forgetting_text or "").read_text().splitlines() if line.strip()]
    if options.cache_mode == "use":
        cache = GenerationCache(options.cache_path or cache_dir() / "generations.sqlite")
        try:
            base, cand = cache.losses(backend, texts, None), cache.losses(backend, texts, rules.candidate)
        finally:
            cache.close()
    else:
        base, cand = backend.token_losses(texts, None), backend.token_losses(texts, rules.candidate)
    mean = sum(base) / len(base)
    return regression_check("forgetting (token loss)", base, cand, rules.forgetting_tolerance, rules,
                            higher_is_better=False, relative_to=mean)
