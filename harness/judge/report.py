"""The text form of a calibration (``harness calibrate --format text``)."""

from __future__ import annotations

from typing import Any

from harness.judge.agreement import Estimate
from harness.judge.calibrate import RULES, Calibration
from harness.judge.raters import Comparison


def _fmt(estimate: Estimate | dict[str, Any]) -> str:
    e = estimate if isinstance(estimate, Estimate) else Estimate(**estimate)
    if e.value is None:
        return "n/a"
    interval = "" if e.low is None or e.high is None else f" [{e.low:.2f}, {e.high:.2f}]"
    return f"{e.value:.2f}{interval}"


def _num(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.2f}"


def _probes(probes: dict[str, Any]) -> list[str]:
    lines = []
    if "position" in probes:
        p = probes["position"]
        rate = p["first_wins"]["rate"]
        lines.append(f"  position: first-shown wins {'n/a' if rate is None else f'{rate:.0%}'} of {p['first_wins']['n']} "
                     f"verdicts (p={_num(p['first_wins']['p_value'])}); both orders agree on {_num(p['order_consistency'])}")
    if "verbosity" in probes:
        v = probes["verbosity"]["longer_wins"]
        lines.append(f"  verbosity: longer of two equally rated replies wins {_num(v['rate'])} of {v['n']} verdicts "
                     f"(p={_num(v['p_value'])})")
    if "retest" in probes:
        r = probes["retest"]
        lines.append(f"  test-retest: {r['n']} items, exact agreement {_num(r['exact_agreement'])}, "
                     f"QWK {_num(r['quadratic_weighted_kappa'])}")
    return lines


SIDE_BY_SIDE = ("quadratic_weighted_kappa", "cohen_kappa", "exact_agreement", "mean_bias")
"""The statistics of the per-rater table (every one is in ``--format json``)."""


def _row(label: str, c: Comparison | None) -> str:
    if c is None:
        return f"    {label:<26} n/a"
    return f"    {label:<26} n={c.n:<4} " + "  ".join(f"{_fmt(c.statistics[name]):<19}" for name in SIDE_BY_SIDE)


def _raters(c: Calibration) -> list[str]:
    if not c.raters:
        return []
    lines = ["per rater: the judge and the rater, each against the consensus (median) of the other raters, same items",
             f"    {'':<26} {'':<6} " + "  ".join(f"{name:<19}" for name in ("QWK", "kappa", "exact", "mean bias"))]
    for r in c.raters:
        lines += [f"  rater {r.rater or '(unnamed)'}", _row("judge vs rater", r.judge_vs_rater),
                  _row("judge vs others", r.judge_vs_others), _row("rater vs others (ceiling)", r.rater_vs_others)]
    return lines


def _alt(c: Calibration) -> list[str]:
    if c.alt_test is None:
        return [f"alternative annotator test: {c.alt_test_note}"] if c.alt_test_note else []
    t = c.alt_test
    lines = [f"alternative annotator test (epsilon {t.epsilon:g}, Benjamini-Yekutieli q {t.q:g}): winning rate "
             f"{t.winning_rate:.2f}, advantage probability {t.advantage_probability:.2f}"]
    lines += [f"  without {r.rater:<12} n={r.n:<4} judge as good {r.judge_advantage:.2f}, rater as good "
              f"{r.rater_advantage:.2f}, p={r.p_value:.3g} (adjusted {r.adjusted_p_value:.3g}): "
              f"{'judge wins' if r.judge_wins else 'rater wins'}" for r in t.raters]
    lines += [f"  without {rater:<12} not tested: {why}" for rater, why in t.skipped.items()]
    return lines


def render_text(c: Calibration) -> str:
    """A human-readable report: statistics with intervals, per-rater table, ceiling, test, probes, the verdict."""
    against = "the raters' consensus (median)" if c.raters else "human"
    lines = [f"judge vs {against} on {c.n} items ({c.unscored} unscored, {c.unscored_rate:.0%})"]
    lines += [f"  {name:<26} {_fmt(estimate)}" for name, estimate in c.statistics.items()]
    lines.append(f"  base rate (human)          {', '.join(f'{k}: {v:.0%}' for k, v in c.base_rate.items())}")
    lines.append(f"  constant predictor ({c.baseline['constant']})     exact {c.baseline['exact_agreement']:.2f}, "
                 f"within one {c.baseline['within_one_agreement']:.2f}, kappa 0")
    if c.human_agreement:
        h = c.human_agreement
        lines.append(f"  human-human ceiling        alpha {_fmt(h['krippendorff_alpha_ordinal'])} on {h['items']} items; "
                     f"{'/'.join(h['pair'])}: QWK {h['quadratic_weighted_kappa']:.2f}, kappa {h['cohen_kappa']:.2f}")
    lines.append("  confusion (rows human, columns judge " + " ".join(map(str, c.confusion_matrix["labels"])) + ")")
    lines += [f"    {label}: {' '.join(f'{v:3d}' for v in row)}" for label, row in
              zip(c.confusion_matrix["labels"], c.confusion_matrix["matrix"], strict=False)]
    lines.append(f"  disagreements: {len(c.disagreements)} (ids in --format json)")
    lines += _raters(c)
    lines += _alt(c)
    if c.bias_probes:
        lines += ["bias probes:", *_probes(c.bias_probes)]
    head = {"pass": "PASS", "fail": "FAIL", "humans-disagree": "HUMANS DISAGREE"}[c.verdict]
    lines.append(f"{head}: {c.reason} (decided by: {RULES[c.rule]})")
    return "\n".join(lines)
