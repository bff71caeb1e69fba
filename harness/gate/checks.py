"""Gate checks: pure functions from scored results to verdicts.

Each returns a :class:`~harness.gate.decision.GateCheck`. ``pass`` counts toward an accept; ``fail`` rejects;
``inconclusive`` (too few cases, errors, a straddling interval, missing data) is never an
accept. Every check names what it observed, the threshold, the paired delta with its
interval, the p-value where one applies, n, and one line a human understands.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from harness.config.gate import GateRules
from harness.errors import HarnessError
from harness.gate.decision import GateCheck, Outcome, Verdict
from harness.records import CaseResult
from harness.scorers.metrics import field_labels, metric_values
from harness.stats import macro_f1_weighted, mcnemar_exact, paired_bootstrap, paired_bootstrap_metric

if TYPE_CHECKING:
    from harness.eval.cache import GenerationCache


def data_check(results: dict[str, list[CaseResult]], rules: GateRules) -> GateCheck:
    """Enough cases, every variant present, the same cases in each, and no generation errors."""
    variants = (rules.candidate, *rules.baselines)
    missing = [v for v in variants if not results.get(v)]
    if missing:
        return GateCheck("data", "inconclusive", f"no results for {', '.join(missing)}")
    ids = {v: [r.case.id for r in results[v]] for v in variants}
    if len({tuple(i) for i in ids.values()}) != 1:
        return GateCheck("data", "inconclusive", "variants were evaluated on different cases; comparisons must be paired")
    n = len(ids[rules.candidate])
    errors = {v: sum(r.generation.error is not None for r in results[v]) for v in variants}
    if any(errors.values()):
        return GateCheck("data", "inconclusive", f"generation errors: {errors}; fix them and rerun", observed=errors, n=n)
    if n < rules.min_cases:
        return GateCheck("data", "inconclusive", f"only {n} cases; the gate needs at least {rules.min_cases}",
                         threshold=rules.min_cases, n=n)
    return GateCheck("data", "pass", f"{n} paired cases, no generation errors", threshold=rules.min_cases, n=n)


def primary_check(baseline: str, results: dict[str, list[CaseResult]], rules: GateRules, seed: int = 0) -> GateCheck:
    """The candidate beats ``baseline`` on the primary metric: lower bound of the paired delta > margin
    (or, for pass/fail metrics, McNemar p < alpha with a positive delta)."""
    name = f"beats {baseline} on {rules.primary}"
    cand, base = results[rules.candidate], results[baseline]
    if rules.primary == "field_macro_f1":
        if not rules.fields:
            return GateCheck(name, "inconclusive", "field_macro_f1 needs scoring.fields")
        result = _field_macro_f1_delta(base, cand, rules, seed)
        p_value = None
    else:
        b, c = metric_values(base, rules.primary), metric_values(cand, rules.primary)
        pairs = [(x, y) for x, y in zip(b, c, strict=True) if x is not None and y is not None]
        if len(pairs) < rules.min_cases:
            return GateCheck(name, "inconclusive", f"only {len(pairs)} cases scored on {rules.primary}"
                             f"{unscored_reason([*base, *cand], rules.primary)}", n=len(pairs))
        bs, cs = [p[0] for p in pairs], [p[1] for p in pairs]
        result = paired_bootstrap(bs, cs, n_resamples=rules.n_resamples, confidence=rules.confidence, seed=seed)
        binary = set(bs + cs) <= {0.0, 1.0}
        p_value = mcnemar_exact([x > 0.5 for x in bs], [x > 0.5 for x in cs]) if binary else None
    observed = {"candidate": result.delta + _baseline_value(base, rules), baseline: _baseline_value(base, rules)}
    common = dict(observed=observed, threshold=rules.margin, delta=result.delta, interval=(result.low, result.high),
                  p_value=p_value, n=result.n)
    interval = f"delta {result.delta:+.3f}, {rules.confidence:.0%} CI [{result.low:+.3f}, {result.high:+.3f}]"
    if result.low > rules.margin or (p_value is not None and p_value < rules.alpha and result.delta > rules.margin
                                     and rules.margin == 0):
        return GateCheck(name, "pass", f"{interval} > margin {rules.margin:+.3f}", **common)
    if result.high <= rules.margin:
        return GateCheck(name, "fail", f"{interval}: not better than {baseline}", **common)
    return GateCheck(name, "inconclusive", f"{interval} straddles margin {rules.margin:+.3f}: no demonstrated win", **common)


def primary_value(results: Sequence[CaseResult], rules: GateRules) -> float:
    """One variant's value of the primary metric on its results (macro-F1 over the fields, or the mean)."""
    return _baseline_value(results, rules)


def unscored_reason(results: Sequence[CaseResult], metric: str) -> str:
    """Why the first unscored case of ``metric`` was not scored (e.g. a refused tone model), as a message suffix."""
    detail = next((s.detail for r in results for s in r.scores if s.metric == metric and s.value is None and s.detail),
                  None)
    return f" (first unscored: {detail})" if detail else ""


def _baseline_value(results: Sequence[CaseResult], rules: GateRules) -> float:
    if rules.primary == "field_macro_f1":
        values = []
        for name in rules.fields:
            reference, predicted, labels = field_labels(results, name)
            values.append(macro_f1_weighted(labels, reference)(np.ones((1, len(reference))), predicted)[0])
        return float(np.mean(values))
    scored = [v for v in metric_values(results, rules.primary) if v is not None]
    return float(np.mean(scored)) if scored else float("nan")


def _field_macro_f1_delta(base: Sequence[CaseResult], cand: Sequence[CaseResult], rules: GateRules, seed: int):
    metrics, base_rows, cand_rows = [], [], []
    for name in rules.fields:
        reference, base_pred, labels = field_labels(base, name)
        metrics.append(macro_f1_weighted(labels, reference))
        base_rows.append(base_pred)
        cand_rows.append(field_labels(cand, name)[1])

    def mean_f1(weights: np.ndarray, predictions: np.ndarray) -> np.ndarray:
        return np.mean([metric(weights, row) for metric, row in zip(metrics, predictions, strict=True)], axis=0)

    return paired_bootstrap_metric(mean_f1, np.array(base_rows), np.array(cand_rows), n_resamples=rules.n_resamples,
                                   confidence=rules.confidence, seed=seed)


def floor_check(metric: str, floor: float, results: Sequence[CaseResult]) -> GateCheck:
    """The candidate's mean of ``metric`` reaches ``floor``."""
    scored = [v for v in metric_values(results, metric) if v is not None]
    if not scored:
        return GateCheck(f"{metric} floor", "inconclusive", f"{metric} was not scored", threshold=floor)
    value = float(np.mean(scored))
    verdict: Verdict = "pass" if value >= floor else "fail"
    return GateCheck(f"{metric} floor", verdict, f"{metric} {value:.3f} {'>=' if verdict == 'pass' else '<'} floor {floor:.3f}",
                     observed={"candidate": value}, threshold=floor, n=len(scored))


def regression_check(name: str, base: Sequence[float], cand: Sequence[float], tolerance: float, rules: GateRules,
                     *, higher_is_better: bool = True, relative_to: float | None = None) -> GateCheck:
    """No regression beyond ``tolerance``: the worst plausible drop (interval bound) stays within it."""
    if len(base) < 2:
        return GateCheck(name, "inconclusive", "too few items to measure a regression", n=len(base))
    result = paired_bootstrap(base, cand, n_resamples=rules.n_resamples, confidence=rules.confidence)
    sign = 1 if higher_is_better else -1
    scale = relative_to or 1.0
    worst, best = (sign * result.low / scale, sign * result.high / scale) if sign > 0 else (
        sign * result.high / scale, sign * result.low / scale)
    observed = {"base": float(np.mean(base)), "candidate": float(np.mean(cand))}
    common: dict[str, Any] = dict(observed=observed, threshold=tolerance, delta=result.delta,
                                  interval=(result.low, result.high), n=result.n)
    unit = " (relative)" if relative_to else ""
    if worst >= -tolerance:
        return GateCheck(name, "pass", f"worst plausible change {worst:+.3f}{unit} within tolerance {tolerance:.3f}", **common)
    if best < -tolerance:
        return GateCheck(name, "fail", f"regression: change at best {best:+.3f}{unit}, beyond tolerance {tolerance:.3f}",
                         **common)
    return GateCheck(name, "inconclusive",
                     f"interval of the change reaches {worst:+.3f}{unit}, beyond tolerance {tolerance:.3f}", **common)


def judge_check(rules: GateRules) -> GateCheck:
    """Judge-based metrics count only while the configured judge's stored calibration passes (fails closed).

    The calibration must match the judge configured now (prompts, rubric, model, decoding) and be
    younger than ``gate.judge.max_age_days``; anything else is inconclusive with the reason.
    """
    name = "judge calibration"
    if not rules.judge_metrics:
        return GateCheck(name, "pass", "no judge-based metric is configured")
    metrics = ", ".join(rules.judge_metrics)
    if not rules.judge.rubric or not rules.judge.store:
        return GateCheck(name, "inconclusive", f"{metrics} need a passing judge calibration against human labels: set "
                                               "gate.judge.rubric and gate.judge.store (`harness calibrate --store`)")
    from harness.judge import calibration_status, configured_judge

    try:
        judge = configured_judge(rules.judge.rubric, rules.judge.model, base_url=rules.judge.base_url)
        ok, reason = calibration_status(judge.identity, judge.rubric.sha256, rules.judge.max_age_days, rules.judge.store)
    except HarnessError as exc:
        return GateCheck(name, "inconclusive", f"{metrics} cannot count: {exc}")
    if ok:
        return GateCheck(name, "pass", f"{metrics} count: {reason}")
    return GateCheck(name, "inconclusive", f"{metrics} do not count: {reason}")


def judge_delta_check(metric: str, baseline: str, judge: Mapping[tuple[str, str], int | None],
                      human: Mapping[tuple[str, str], int], calibration: tuple[bool, str], rules: GateRules,
                      run_dir: str | Path | None = None) -> GateCheck:
    """No regression of the candidate's judge score against ``baseline`` beyond ``gate.judge.tolerance``, counted only
    through a prediction-powered interval (:mod:`harness.judge.ppi`, plain PPI: power tuning undercovered at 30
    labelled cases in ``bench/ppi_coverage.py``) and only with a passing calibration.

    ``judge`` and ``human`` map (case id, variant) to a score; the human labels must cover both variants of a case
    to rectify it. Without a passing calibration, or without such labels, the check is inconclusive with the reason
    and, given ``run_dir``, the command that writes the labelling sheet for that run.
    """
    from harness.judge.ppi import ppi_mean_difference

    name = f"{metric} vs {baseline} (PPI)"
    ok, why = calibration
    if not ok:
        return GateCheck(name, "inconclusive", f"{metric} does not count: {why}")
    cand, tolerance = rules.candidate, rules.judge.tolerance
    cases = sorted({case for case, _ in judge})
    paired = [c for c in cases if judge.get((c, cand)) is not None and judge.get((c, baseline)) is not None]
    unscored = len(cases) - len(paired)
    labelled = [c for c in paired if (c, cand) in human and (c, baseline) in human]
    if len(labelled) < 2:
        return GateCheck(name, "inconclusive", f"{len(labelled)} cases with human labels on both {cand} and {baseline} "
                         "in the judged run: a judge's difference is biased until rectified against people; "
                         f"{labelling_hint(run_dir)}", n=len(paired))
    labelled_set = set(labelled)

    def diff(scores: Mapping[tuple[str, str], int | None] | Mapping[tuple[str, str], int], c: str) -> float:
        return float(scores[(c, cand)]) - float(scores[(c, baseline)])  # type: ignore[arg-type]

    result = ppi_mean_difference([diff(judge, c) for c in paired if c not in labelled_set],
                                 [diff(judge, c) for c in labelled], [diff(human, c) for c in labelled],
                                 confidence=rules.confidence)
    observed = {"judge_delta_uncorrected": result.naive_delta, "judge_bias": result.rectifier, "judge_weight": result.weight,
                "n_labelled": result.n_labelled, "n_unlabelled": result.n_unlabelled, "unscored_cases": unscored}
    common: dict[str, Any] = dict(observed=observed, threshold=tolerance, delta=result.delta,
                                  interval=(result.low, result.high), n=result.n_labelled + result.n_unlabelled)
    text = (f"PPI delta {result.delta:+.2f}, {rules.confidence:.0%} CI [{result.low:+.2f}, {result.high:+.2f}] from "
            f"{result.n_labelled} labelled + {result.n_unlabelled} judge-only cases (uncorrected judge "
            f"{result.naive_delta:+.2f})")
    if result.low >= -tolerance:
        return GateCheck(name, "pass", f"{text}: worst plausible drop within tolerance {tolerance:.2f}", **common)
    if result.high < -tolerance:
        return GateCheck(name, "fail", f"{text}: a drop beyond tolerance {tolerance:.2f}", **common)
    return GateCheck(name, "inconclusive", f"{text} reaches below -{tolerance:.2f}", **common)


def labelling_hint(run_dir: str | Path | None) -> str:
    """What to run to label this run's outputs for the gate's PPI check."""
    run = str(run_dir) if run_dir is not None else "RUN_DIR"
    return (f"label a uniform random sample of this run's outputs: `harness judge sample {run} --uniform --n 60 --out "
            "labels.csv`, fill in its human column, set gate.judge.labels to the file and gate again (generations and "
            "verdicts are cached, and labels are matched to outputs by case id and output hash)")


def judge_metric_checks(rules: GateRules, run_dir: str | Path | None, cache: GenerationCache | None = None
                        ) -> list[GateCheck]:
    """One :func:`judge_delta_check` per judge metric and baseline on the gate's own run (fails closed).

    Only with a passing stored calibration of the judge configured in ``gate.judge`` (otherwise inconclusive, and
    nothing is judged): the judge scores the greedy outputs of the candidate and the baselines in ``run_dir`` through
    ``cache`` (a rerun judges nothing again) and stores them beside the run; ``gate.judge.labels`` (people's labels on
    some of those outputs, matched by case id and output hash, :mod:`harness.judge.run_labels`) rectify the judge's
    difference. Without labels the checks are inconclusive and name the command that writes the labelling sheet.
    """
    if not rules.judge_metrics:
        return []
    names = [(metric, baseline) for metric in rules.judge_metrics for baseline in rules.baselines]

    def inconclusive(why: str, **observed: Any) -> list[GateCheck]:
        return [GateCheck(f"{m} vs {b} (PPI)", "inconclusive", f"{m} does not count: {why}",
                          observed=dict(observed)) for m, b in names]

    if not rules.judge.rubric or not rules.judge.store:
        return inconclusive("set gate.judge.rubric and gate.judge.store (`harness calibrate --store`)")
    from harness.judge import calibration_status, configured_judge
    from harness.judge.judged_run import judge_gate_run

    try:
        judge = configured_judge(rules.judge.rubric, rules.judge.model, base_url=rules.judge.base_url, cache=cache)
        calibration = calibration_status(judge.identity, judge.rubric.sha256, rules.judge.max_age_days, rules.judge.store)
    except HarnessError as exc:
        return inconclusive(str(exc))
    if not calibration[0]:
        return inconclusive(calibration[1])
    if run_dir is None:
        return inconclusive("no run to compare on")
    try:
        data = judge_gate_run(judge, run_dir, [rules.candidate, *rules.baselines], rules.judge.labels)
    except HarnessError as exc:
        return inconclusive(str(exc))
    except Exception as exc:  # noqa: BLE001 - a judge that breaks is missing data: the gate fails closed
        return inconclusive(f"judging the run failed: {type(exc).__name__}: {exc}")
    unscored = sum(score is None for score in data.judge.values())
    if rules.judge.labels is None:
        return inconclusive(f"no human labels on this run's outputs (gate.judge.labels is unset): a judge's difference "
                            f"is biased until rectified against people; {labelling_hint(run_dir)}",
                            judged_outputs=len(data.judge), unscored_outputs=unscored)
    checks = [judge_delta_check(m, b, data.judge, data.human, calibration, rules, run_dir) for m, b in names]
    extra = {"labels_unmatched": data.unmatched_labels, "unscored_outputs": unscored}
    return [dataclasses.replace(c, observed={**c.observed, **extra}) for c in checks]


def decide(checks: Sequence[GateCheck]) -> Outcome:
    """Accepted only when every check passes; any fail rejects; anything else is inconclusive."""
    if any(c.verdict == "fail" for c in checks):
        return "rejected"
    if checks and all(c.verdict == "pass" for c in checks):
        return "accepted"
    return "inconclusive"
