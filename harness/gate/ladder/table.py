"""The ladder decision as a person acts on it: one row per rung, the chosen rung in one sentence, remedies.

Per rung: the primary metric, each comparison with a cheaper rung (paired delta and its interval),
every own check's verdict, and the cost (prompt tokens, latency, training time). Then what to do
about each rejection (:func:`remedies`): replay for a general-capability or forgetting failure (the
``lora.yaml`` lines to add), few-shot or a fine-tune for a baseline under the schema floor,
``--eval-split`` for a set too small to decide, and what a general check that fails while the
token-loss check passes usually means.
"""

from __future__ import annotations

from harness.gate.decision import REPLAY_LINES, remedy_lines
from harness.gate.ladder.record import LadderDecision, RungVerdict

__all__ = ["REPLAY_LINES", "chosen_sentence", "disagrees", "ladder_table", "remedies"]
HEADERS = ("rung", "kind", "{primary}", "vs each cheaper rung: delta [95% CI]", "own checks", "prompt tok", "latency p50",
           "training")


def ladder_table(decision: LadderDecision) -> list[str]:
    """The rungs as an aligned table, cheapest first (one line per comparison), then the chosen rung in one sentence."""
    primary = str(decision.rules.get("primary") or "primary")
    rows = [tuple(h.format(primary=primary) for h in HEADERS)] + [row for r in decision.rungs for row in _rows(r)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(HEADERS))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows]
    return [*lines, chosen_sentence(decision)]


def chosen_sentence(decision: LadderDecision) -> str:
    """``chosen: rag (deploy rag: fine-tuned does not beat it ...)`` or why nothing was chosen."""
    why = decision.reasons[0] if decision.reasons else decision.verdict
    return f"chosen: {decision.chosen or 'none'} ({why})"


def _rows(rung: RungVerdict) -> list[tuple[str, ...]]:
    versus = [_comparison(rung, base, verdict) for base, verdict in rung.beats.items()] or ["-"]
    checks = ", ".join(f"{_short(c.name)} {_shout(c.verdict)}" for c in rung.checks) or "-"
    cost = rung.cost
    first = (rung.variant, rung.kind, "-" if rung.primary is None else f"{rung.primary:.3f}", versus[0], checks,
             "-" if cost.prompt_tokens_mean is None else f"{cost.prompt_tokens_mean:.0f}",
             "-" if cost.latency_p50_s is None else f"{cost.latency_p50_s:.2f} s",
             "-" if cost.training_s is None else f"{cost.training_s:.0f} s")
    return [first, *(("", "", "", more, "", "", "", "") for more in versus[1:])]


def _comparison(rung: RungVerdict, base: str, verdict: str) -> str:
    """``rag +0.015 [-0.060, +0.096] INCONCLUSIVE (fields FAIL)``: the primary check, and the fields' when not passed."""
    check = rung.check_vs(base)
    fields = next((c for c in rung.checks_vs(base) if c.name.startswith("fields ")), None)
    text = f"{base} {_shout(verdict)}"
    if check is not None and check.delta is not None and check.interval is not None:
        text = f"{base} {check.delta:+.3f} [{check.interval[0]:+.3f}, {check.interval[1]:+.3f}] {_shout(verdict)}"
    return text + (f" (fields {_shout(fields.verdict)})" if fields is not None and fields.verdict != "pass" else "")


def _shout(verdict: str) -> str:
    """A verdict that stops a rung stands out."""
    return verdict if verdict == "pass" else verdict.upper()


def _short(name: str) -> str:
    """A check's name as the table shows it: ``general capability (general_pass)`` → ``general capability``."""
    return name.split(" (")[0].removeprefix("held-out ")


def remedies(decision: LadderDecision, replay_used: dict[str, bool] | None = None) -> list[str]:
    """What to change, per rejection, in lines to print (empty when nothing was rejected).

    Args:
        decision: the ladder's decision.
        replay_used: per adapter rung, whether its candidate was trained with replay (from its manifest).
    """
    lines = remedy_lines(decision.checks, decision.task, adapter=False)  # the shared data check: --eval-split
    for rung in decision.rungs:
        lines += remedy_lines(rung.checks, rung.variant, adapter=rung.kind == "adapter",
                              replay_used=(replay_used or {}).get(rung.variant, False))
    return lines


def disagrees(rung: RungVerdict) -> bool:
    """The generation-based general check fails while the token-loss forgetting check passes."""
    verdicts = {_short(c.name): c.verdict for c in rung.checks}
    return verdicts.get("general capability") == "fail" and verdicts.get("forgetting") == "pass"
