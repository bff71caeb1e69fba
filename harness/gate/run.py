"""``harness gate CANDIDATE``: evaluate a candidate adapter against the baselines and decide.

The decision (:class:`~harness.gate.decision.Decision`, kept in the candidate folder) lists
every check and the hashes of its inputs. It fails closed: an error while evaluating becomes an *inconclusive*
decision with the error recorded, never an accept.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import os
from collections.abc import Callable
from pathlib import Path

from harness.config.eval_config import EvalConfig, load_eval_config, with_adapters
from harness.config.gate import GateRules, gate_rules
from harness.errors import ConfigError, HarnessError, InputError
from harness.eval.adapters import AdapterHasNoEffect, check_adapter_folder
from harness.eval.backends import Backend, make_backend
from harness.eval.runner import EvalOptions, open_cache, run_eval
from harness.gate.checks import data_check, decide, floor_check, judge_check, judge_metric_checks, primary_check
from harness.gate.decision import Decision, GateCheck, VariantSummary
from harness.gate.fields import field_check
from harness.gate.parity import serving_parity
from harness.gate.probes import check_gate_files, leakage_check
from harness.gate.repeats import clustered_by_variant, with_flaky
from harness.gate.sequential import PARITY_REASON, fixed_n, with_sequences
from harness.gate.sequential_general import capability_checks
from harness.gate.sequential_run import sequential_eval
from harness.gate.store import hash_inputs, write_decision
from harness.manifests import CandidateManifest, TrainingData, read_candidate_manifest, read_run_manifest
from harness.scorers.metrics import by_variant, variant_metrics

log = logging.getLogger(__name__)


def load_gate(config: EvalConfig | str | Path) -> tuple[EvalConfig, GateRules]:
    """The eval config (loaded, or read from its path) and its gate rules.

    Raises:
        ConfigError: the config is invalid or its variants allow no gate (no adapter variant).
    """
    config = loaded_config(config)
    return config, config.rules or gate_rules(config.gate, {n: v.kind for n, v in config.variants.items()},
                                              config.scoring.fields, complain=_complain(str(config.source)))


def loaded_config(config: EvalConfig | str | Path) -> EvalConfig:
    """``config`` itself when already loaded (the pytest suite holds one), else the file read and validated.

    Raises:
        ConfigError: the file is invalid.
    """
    return config if isinstance(config, EvalConfig) else load_eval_config(config)


def _complain(path: str) -> Callable[[str, str], ConfigError]:
    return lambda key, message: ConfigError(message, path=path)


def run_gate(candidate: str | Path, config: EvalConfig | str | Path, options: EvalOptions | None = None) -> Decision:
    """Evaluate ``candidate`` under the config's gate, record the decision beside it, return it.

    The decision joins ``<candidate>/decisions/`` and becomes ``decision.json`` (the latest).

    Raises:
        InputError: the candidate folder, config or environment is unusable (nothing is written).
    """
    options = options or EvalOptions()
    check_adapter_folder(candidate)  # "not an adapter" says more than "not a writable folder"
    check_writable(Path(candidate), options.runs_dir)
    decision = gate_decision(candidate, config, options)
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


def gate_decision(candidate: str | Path, config: EvalConfig | str | Path, options: EvalOptions | None = None,
                  backend: Backend | None = None) -> Decision:
    """The decision for ``candidate`` under ``config`` (loaded, or its path; nothing written); ``backend`` reuses a
    loaded model.

    Raises:
        InputError: the candidate folder, config or environment is unusable.
    """
    candidate = Path(candidate)
    manifest = candidate_manifest(candidate)
    config, rules = load_gate(config)
    if manifest.task != config.task:
        raise InputError(f"candidate was trained for task {manifest.task!r}, the config gates {config.task!r}",
                         path=str(candidate), code="task-mismatch")
    check_gate_files(rules)
    config = with_adapters(config, {rules.candidate: candidate})
    data = manifest.data or TrainingData()
    inputs = hash_inputs(candidate, config.source, config.cases, data.dataset, data.dataset_sha256)
    checks, run_path, variants = _checks(config, rules, manifest, options or EvalOptions(), backend)
    return Decision(verdict=decide(checks), checks=checks, task=config.task, candidate=candidate.name,
                    created_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), inputs=inputs, variants=variants,
                    rules=rules, run=str(run_path) if run_path else None,
                    candidate_path=str(candidate.resolve()),
                    engine=read_run_manifest(run_path).backend.engine if run_path else None)


def candidate_manifest(candidate: Path) -> CandidateManifest:
    """The manifest of a candidate the gate (or the ladder) can judge: a sound adapter folder trained for a named task.

    Raises:
        InputError: not an adapter folder, or a missing or damaged manifest, or one that names no task.
    """
    check_adapter_folder(candidate)
    manifest = read_candidate_manifest(candidate)
    if manifest.task is None:
        raise InputError("the manifest names no task (a non-empty string), got None; a candidate is gated for the task "
                         "it was trained for: retrain it with `harness train`", path=str(candidate / "manifest.json"),
                         code="bad-manifest")
    return manifest


def _checks(config: EvalConfig, rules: GateRules, manifest: CandidateManifest, options: EvalOptions,
            backend: Backend | None) -> tuple[list[GateCheck], Path | None, dict[str, VariantSummary]]:
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


def _evaluate(config: EvalConfig, rules: GateRules, manifest: CandidateManifest, options: EvalOptions,
              backend: Backend | None = None) -> tuple[list[GateCheck], Path | None, dict[str, VariantSummary]]:
    if backend is None:  # made here, closed here: an engine's adapters are unloaded when the gate is done
        made = make_backend(config)
        try:
            return _evaluate(config, rules, manifest, options, made)
        finally:
            close = getattr(made, "close", None)
            if callable(close):
                close()
    options = dataclasses.replace(options, variants=[rules.candidate, *rules.baselines])
    sequential = sequential_eval(config, rules, options, backend) if rules.sequential else None
    run = sequential.run if sequential else run_eval(config, options, backend=backend)
    results = clustered_by_variant(run.results) if options.repeats > 1 else by_variant(run.results)
    checks = [data_check(results, rules)]
    if checks[0].verdict == "pass":
        checks += [primary_check(baseline, results, rules) for baseline in rules.baselines]
        checks += [field_check(baseline, results, rules) for baseline in rules.baselines if rules.fields]
        checks += [floor_check(metric, floor, results[rules.candidate]) for metric, floor in rules.floors.items()]
        if sequential:
            checks = with_sequences(checks, sequential.records, sequential.stopped_early, sequential.why_all,
                                    sequential.blocking)
        if options.repeats > 1:
            checks = with_flaky(checks, run.results, None, [rules.candidate, *rules.baselines])
    else:
        checks.append(GateCheck("comparisons", "inconclusive", "skipped: the data check did not pass"))
    checks.append(leakage_check(config, manifest))
    checks += capability_checks(config, rules, backend, options)  # general capability, forgetting
    if rules.parity.floor is not None:
        parity = serving_parity(config, rules, backend.kind, results.get(rules.candidate, []), options)
        checks.append(fixed_n(parity, parity.n or 0, PARITY_REASON) if rules.sequential else parity)
    checks.append(judge_check(rules))
    if rules.judge_metrics:  # the judge's verdicts are cached like generations: a rerun judges nothing again
        with open_cache(options) as cache:
            checks += judge_metric_checks(rules, run.path, cache)  # a judge metric counts only through a PPI interval
    summaries = variant_metrics(run.results, rules.fields)
    return checks, run.path, {name: VariantSummary.from_dict(s) for name, s in summaries.items()}
