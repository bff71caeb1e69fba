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

from harness.config.eval_config import EvalConfig, load_eval_config, with_adapters
from harness.config.gate import GateRules, gate_rules
from harness.errors import ConfigError, HarnessError, InputError
from harness.eval.adapters import AdapterHasNoEffect, check_adapter_folder
from harness.eval.backends import Backend, make_backend
from harness.eval.runner import EvalOptions, run_eval
from harness.gate.checks import data_check, decide, floor_check, judge_check, primary_check
from harness.gate.decision import Decision, GateCheck
from harness.gate.fields import field_check
from harness.gate.probes import check_gate_files, forgetting_check, general_check, leakage_check
from harness.gate.store import hash_inputs, write_decision
from harness.scorers.metrics import by_variant, variant_metrics

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
    check_adapter_folder(candidate)  # "not an adapter" says more than "not a writable folder"
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
    if manifest["task"] != config.task:
        raise InputError(f"candidate was trained for task {manifest['task']!r}, the config gates {config.task!r}",
                         path=str(candidate), code="task-mismatch")
    check_gate_files(rules)
    config = with_adapters(config, {rules.candidate: candidate})
    data = manifest.get("data") or {}
    inputs = hash_inputs(candidate, config.source, config.cases, data.get("dataset"), data.get("dataset_sha256"))
    checks, run_path, variants = _checks(config, rules, manifest, options or EvalOptions(), backend)
    return Decision(verdict=decide(checks), checks=checks, task=config.task, candidate=candidate.name,
                    created_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), inputs=inputs, variants=variants,
                    rules=rules, run=str(run_path) if run_path else None,
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
    if not isinstance(manifest.get("task"), str) or not manifest["task"]:
        raise InputError(f"the manifest names no task (a non-empty string), got {manifest.get('task')!r}; a candidate "
                         "is gated for the task it was trained for: retrain it with `harness train`", path=str(path),
                         code="bad-manifest")
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
        log.warning("gate evaluation failed: %s: %s (inconclusive)", type(exc).__name__, exc)
        log.info("traceback of the failed gate evaluation", exc_info=True)  # shown with `harness -v`
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
    checks.append(leakage_check(config, manifest))
    if rules.general_items:
        checks.append(general_check(config, rules, backend, options))
    if rules.forgetting_text:
        checks.append(forgetting_check(rules, backend, options))
    checks.append(judge_check(rules))
    return checks, run.path, variant_metrics(run.results, rules.fields)
