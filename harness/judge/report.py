"""The text form of a calibration (``harness calibrate --format text``)."""

from __future__ import annotations

from typing import Any

from harness.judge.agreement import Estimate
from harness.judge.calibrate import Calibration


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


def render_text(c: Calibration) -> str:
    """A human-readable report: statistics with intervals, baseline, ceiling, probes, the verdict."""
    lines = [f"judge vs human on {c.n} items ({c.unscored} unscored, {c.unscored_rate:.0%})"]
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
    if c.bias_probes:
        lines += ["bias probes:", *_probes(c.bias_probes)]
    lines.append(f"{'PASS' if c.passed else 'FAIL'}: {c.reason}")
    return "\n".join(lines)
