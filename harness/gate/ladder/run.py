"""``harness decide``: evaluate every rung of a task's ladder once and decide which one to deploy.

Adapter rungs get the gate's own checks (held-out leakage, general capability, forgetting) from
:mod:`harness.gate.run`; a RAG rung over labelled examples gets a leakage check of its corpus.
An adapter variant whose registry reference has no adapter deployed yet is evaluated with the task's
latest candidate (said in the reasons); with no candidate at all it is not on the ladder (said too).
Fails closed like the gate: an unexpected error is an inconclusive ladder, an environment error no
decision at all.
"""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

from harness.config.eval_config import AdapterVariant, EvalConfig, VariantSpec
from harness.config.gate import ForgettingSection, GateRules, GeneralSection, JudgeSection
from harness.data import leakage, load_examples
from harness.errors import HarnessError, InputError
from harness.eval.adapters import AdapterHasNoEffect
from harness.eval.backends import Backend, make_backend
from harness.eval.cases import load_cases
from harness.eval.runner import EvalOptions, run_eval
from harness.gate.checks import decide
from harness.gate.decision import Decision, GateCheck
from harness.gate.ladder.decide import KIND_RANK, LadderDecision, Rung, RungCost, decide_ladder, gate_checks
from harness.gate.ladder.store import hash_ladder_inputs, variant_folder
from harness.gate.parity import serving_parity
from harness.gate.probes import as_examples, leakage_check
from harness.gate.promote import CandidateInfo, candidates
from harness.gate.run import candidate_manifest, loaded_config
from harness.gate.sequential import PARITY_REASON, fixed_n, ladder_specs
from harness.gate.sequential_general import capability_checks
from harness.gate.sequential_run import sequential_eval
from harness.manifests import CandidateManifest
from harness.registry.deployments import CURRENT_PREFIX, registry_root, resolve_adapter
from harness.scorers.metrics import by_variant, variant_metrics

log = logging.getLogger(__name__)


def ladder_rules(config: EvalConfig) -> GateRules:
    """The gate rules the ladder applies (the config's, or the gate section's defaults when no adapter allows a gate)."""
    if config.rules:
        return config.rules
    # without an adapter there is no general, forgetting or judge check to configure: their defaults
    section = dataclasses.replace(config.gate, general=GeneralSection(), forgetting=ForgettingSection(), judge=JudgeSection())
    return GateRules.resolve(section, candidate=next(iter(config.variants)), baselines=(),
                             fields=config.gate.fields or config.scoring.fields)


def resolve_rungs(config: EvalConfig, candidate: Path | None,
                  upto: str | None = None) -> tuple[EvalConfig, dict[str, str], dict[str, str]]:
    """The config with each adapter variant's folder resolved (``candidate`` for the gate's candidate), the
    variants left off the ladder with why (no adapter at all, or costlier than ``upto``), and the adapter
    variants whose ``current:<task>`` (of the config's own task) had no adapter deployed, with the latest
    candidate evaluated instead."""
    rules = ladder_rules(config)
    adapters = [n for n, v in config.variants.items() if v.kind == "adapter"]
    target = rules.candidate if rules.candidate in adapters else (adapters[0] if adapters else None)
    variants: dict[str, VariantSpec] = {}
    absent: dict[str, str] = {}
    stand_ins: dict[str, str] = {}
    limit = KIND_RANK[config.variants[upto].kind] if upto else 99
    for name, spec in config.variants.items():
        if name != upto and KIND_RANK[spec.kind] >= limit:
            continue
        if isinstance(spec, AdapterVariant):
            try:
                folder = (candidate if candidate and name == target
                          else resolve_adapter(spec.adapter or "", config=config.source))
            except InputError as exc:
                own = spec.adapter == f"{CURRENT_PREFIX}{config.task}"  # another task's adapter has no stand-in
                latest = latest_candidate(config.task) if exc.code == "no-adapter" and own else None
                if latest is None:
                    absent[name] = exc.message
                    continue
                folder = Path(latest.path)
                stand_ins[name] = (f"no adapter is deployed for task {latest.task!r}: evaluated its latest candidate "
                                   f"{latest.id} (trained {latest.created_at or 'at an unknown time'}, {latest.verdict})")
            spec = dataclasses.replace(spec, adapter=str(Path(folder).resolve()))
        variants[name] = spec
    return dataclasses.replace(config, variants=variants), absent, stand_ins


def latest_candidate(task: str) -> CandidateInfo | None:
    """The task's most recently trained candidate in the registry folder (None: none). Damaged folders are passed over."""
    found = [c for c in candidates() if c.task == task and c.verdict != "damaged"]
    return max(found, key=lambda c: (c.created_at or "", c.id), default=None)


def run_ladder(config: EvalConfig | str | Path, options: EvalOptions | None = None, candidate: Path | None = None,
               backend: Backend | None = None, upto: str | None = None) -> LadderDecision:
    """The ladder decision for the config's task (``config`` loaded, or its path; nothing written).

    Raises:
        InputError: the config, a candidate folder or the environment is unusable.
    """
    options = options or EvalOptions()
    config, absent, stand_ins = resolve_rungs(loaded_config(config), candidate, upto)
    manifests = {n: candidate_manifest(Path(v.adapter or "")) for n, v in config.variants.items() if v.kind == "adapter"}
    trained_for = {m.task for n, m in manifests.items() if candidate and Path(config.variants[n].adapter or "") ==
                   candidate.resolve()} - {None, config.task}
    if trained_for:
        raise InputError(f"candidate was trained for task {trained_for.pop()!r}, the config decides {config.task!r}",
                         path=str(candidate), code="task-mismatch")
    corpora = {n: v.corpus for n, v in config.variants.items() if v.kind == "rag" and v.corpus}
    inputs = hash_ladder_inputs(config.source, config.cases, corpora,
                                {n: (Path(config.variants[n].adapter or ""), m) for n, m in manifests.items()})
    rules = ladder_rules(config)
    try:
        decision = _decide(config, rules, manifests, options, backend, absent)
    except AdapterHasNoEffect as exc:
        return _failed(config, rules, "adapter takes effect", "fail", exc.message, absent)
    except HarnessError:
        raise
    except OSError as exc:
        raise InputError(f"could not evaluate ({type(exc).__name__}: {exc}); nothing was decided or written",
                         code="environment") from None
    except Exception as exc:  # noqa: BLE001 - the ladder fails closed on anything unexpected
        log.exception("ladder evaluation failed")
        return _failed(config, rules, "evaluation", "inconclusive", f"evaluation failed: {type(exc).__name__}: {exc}", absent)
    decision.inputs = inputs
    decision.reasons += [f"{name}: {why}" for name, why in stand_ins.items()]
    decision.reasons += [f"{name} is not on the ladder: {why}" for name, why in absent.items()]
    return decision


def _decide(config: EvalConfig, rules: GateRules, manifests: dict[str, CandidateManifest], options: EvalOptions,
            backend: Backend | None, absent: dict[str, str]) -> LadderDecision:
    backend = backend or make_backend(config)
    options = dataclasses.replace(options, variants=list(config.variants))
    ranked = sorted(config.variants, key=lambda n: KIND_RANK[config.variants[n].kind])
    sequential = (sequential_eval(config, rules, options, backend, ladder_specs(rules, ranked)) if rules.sequential
                  else None)
    run = sequential.run if sequential else run_eval(config, options, backend=backend)
    costs = variant_metrics(run.results, rules.fields)
    results = by_variant(run.results)
    rungs = []
    for name, spec in config.variants.items():
        training = manifests[name].wall_seconds if name in manifests else None
        cost = RungCost.from_summary(spec.kind, costs.get(name, {}).get("cost", {}), training)
        here = dataclasses.replace(rules, candidate=name)
        checks = _adapter_checks(config, here, manifests[name], backend, options) if spec.kind == "adapter" else []
        if spec.kind == "adapter" and rules.parity.floor is not None:  # the same serving-parity check as the gate's
            parity = serving_parity(config, here, backend.kind, results.get(name, []), options)
            checks.append(fixed_n(parity, parity.n or 0, PARITY_REASON) if rules.sequential else parity)
        checks += [_corpus_leakage(config, name)] if spec.kind == "rag" and spec.corpus_kind == "examples" else []
        rungs.append(Rung(name, spec.kind, cost, checks, spec.adapter or spec.corpus))
    decision = decide_ladder(config.task, results, rungs, rules, run=str(run.path), sequential=sequential)
    decision.engine = run.manifest.backend.engine
    return decision


def _adapter_checks(config: EvalConfig, rules: GateRules, manifest: CandidateManifest, backend: Backend,
                    options: EvalOptions) -> list[GateCheck]:
    return [leakage_check(config, manifest), *capability_checks(config, rules, backend, options)]


def _corpus_leakage(config: EvalConfig, variant: str) -> GateCheck:
    """Held-out cases must not be retrievable from a RAG variant's labelled examples."""
    corpus = config.variants[variant].corpus or ""
    held = as_examples(load_cases(config.cases, config.task))
    leaks = leakage(held, load_examples(corpus))
    if leaks:
        return GateCheck("held-out leakage", "fail", f"{len(leaks)} held-out cases are in the corpus {corpus}, "
                         f"e.g. {leaks[0]}", n=len(held))
    return GateCheck("held-out leakage", "pass", f"none of {len(held)} held-out cases is in the corpus", n=len(held))


def _failed(config: EvalConfig, rules: GateRules, name: str, verdict: str, why: str, absent: dict[str, str]) -> LadderDecision:
    check = GateCheck(name, verdict, why)  # type: ignore[arg-type]
    decision = decide_ladder(config.task, {}, [Rung(n, v.kind, RungCost(v.kind)) for n, v in config.variants.items()], rules)
    decision.checks.append(check)
    decision.verdict, decision.chosen, decision.chosen_kind = "inconclusive", None, None
    decision.reasons = [f"inconclusive, nothing to deploy: {name}: {why}"]
    return decision


def variant_decision(variant: str, config: EvalConfig | str | Path, options: EvalOptions | None = None,
                     backend: Backend | None = None, root: Path | None = None) -> Decision:
    """The gate's decision on a prompt or RAG variant against the cheaper rungs (nothing written).

    Its checks are the variant's rung of a ladder cut at it: data, judge calibration, beats and
    fields no worse than each cheaper *eligible* rung (as the ladder requires), floors, its own checks.

    Raises:
        InputError: the variant is not a prompt or RAG variant of the config, or the config is unusable.
    """
    config = loaded_config(config)
    spec = config.variants.get(variant)
    if spec is None or spec.kind == "adapter":
        raise InputError(f"--variant {variant}: give a prompt or RAG variant of the config; gate an adapter with "
                         "`harness gate CANDIDATE`", path=str(config.source), code="bad-variant")
    ladder = run_ladder(config, options, backend=backend, upto=variant)
    checks = gate_checks(ladder, variant)
    return Decision(verdict=decide(checks), checks=checks, task=ladder.task, candidate=variant, created_at=ladder.created_at,
                    rules=GateRules.from_dict(ladder.rules), run=ladder.run, engine=ladder.engine,
                    candidate_path=str(variant_folder(registry_root(root), ladder.task, variant).resolve()))
