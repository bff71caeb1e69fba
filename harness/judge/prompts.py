"""Judge prompts and their strict parsers.

A verdict must follow the requested two-line format exactly; anything else is *unscored*
(``score``/``winner`` None, the raw text kept, the reason for the refusal in ``error``),
never a low score.
"""

from __future__ import annotations

import re

from harness.fileio import sha256_text
from harness.judge.records import PairVerdict, Verdict
from harness.judge.rubric import Rubric

ABSOLUTE_SYSTEM = "You grade replies written by a customer support agent against this rubric.\n\n{rubric}"
ABSOLUTE_USER = ("Customer message:\n{input}\n\nReply to grade:\n{output}\n\n"
                 "Grade the reply. Answer with exactly two lines: Score ({lo} to {hi}) and Reason.")
PAIRWISE_SYSTEM = "You compare two replies written by a customer support agent against this rubric.\n\n{rubric}"
PAIRWISE_USER = ("Customer message:\n{input}\n\nReply A:\n{first}\n\nReply B:\n{second}\n\n"
                 "Which reply follows the rubric better? Answer with exactly two lines: Winner (A or B) and Reason.")

_GOOD = ("Resend it yourself: go to Settings > Members, find your coworker under Pending and choose Resend invite. "
         "The new link replaces the old one.")
_BAD = "Hi! Great question! You can change who gets invites in the settings. I hope this helps!"
_SHOT_INPUT = "hey so my coworker never got the invite, can u send another??"
ABSOLUTE_SHOTS = ((_SHOT_INPUT, _GOOD, "Score: {hi}\nReason: Answers first with the exact path and no filler."),
                  (_SHOT_INPUT, _BAD, "Score: {low2}\nReason: Greeting, filler and exclamation marks, and no exact path."))
"""Worked examples shown before every item, as earlier chat turns: small judges copy the format from them."""
PAIRWISE_SHOTS = ((_SHOT_INPUT, _GOOD, _BAD, "Winner: A\nReason: A gives the exact path without filler."),
                  (_SHOT_INPUT, _BAD, _GOOD, "Winner: B\nReason: B gives the exact path without filler."))

PROMPT_SHA256 = sha256_text(repr((ABSOLUTE_SYSTEM, ABSOLUTE_USER, PAIRWISE_SYSTEM, PAIRWISE_USER, ABSOLUTE_SHOTS,
                                  PAIRWISE_SHOTS)))
"""Hash of the templates and examples: part of the judge identity, so editing a prompt invalidates calibrations."""

_SCORE = re.compile(r"Score:\s*(-?\d+)", re.IGNORECASE)
_WINNER = re.compile(r"Winner:\s*(A|B)", re.IGNORECASE)
_REASON = re.compile(r"Reason:\s*(\S.*)", re.IGNORECASE)


def _turn(role: str, content: str) -> dict[str, str]:
    return {"role": role, "content": content}


def absolute_messages(rubric: Rubric, input_text: str, output: str) -> tuple[dict[str, str], ...]:
    """The chat messages asking for an absolute score (system rubric, two worked examples, the item)."""
    lo, hi = rubric.scale_min, rubric.scale_max
    messages = [_turn("system", ABSOLUTE_SYSTEM.format(rubric=rubric.describe()))]
    for shot_input, reply, answer in ABSOLUTE_SHOTS:
        messages += [_turn("user", ABSOLUTE_USER.format(input=shot_input, output=reply, lo=lo, hi=hi)),
                     _turn("assistant", answer.format(hi=hi, low2=min(lo + 1, hi)))]
    return (*messages, _turn("user", ABSOLUTE_USER.format(input=input_text, output=output, lo=lo, hi=hi)))


def pairwise_messages(rubric: Rubric, input_text: str, first: str, second: str) -> tuple[dict[str, str], ...]:
    """The chat messages asking which of two replies is better (``first`` shown as A)."""
    messages = [_turn("system", PAIRWISE_SYSTEM.format(rubric=rubric.describe()))]
    for shot_input, a, b, answer in PAIRWISE_SHOTS:
        messages += [_turn("user", PAIRWISE_USER.format(input=shot_input, first=a, second=b)), _turn("assistant", answer)]
    return (*messages, _turn("user", PAIRWISE_USER.format(input=input_text, first=first, second=second)))


def _two_lines(raw: str | None) -> tuple[str, str] | str:
    """The two non-empty lines of a verdict, or why there are not exactly two."""
    if raw is None:
        return "no text (generation failed)"
    lines = [line.strip() for line in raw.strip().strip("`").splitlines() if line.strip()]
    if len(lines) != 2:
        return f"expected 2 lines, got {len(lines)}"
    return lines[0], lines[1]


def parse_absolute(raw: str | None, rubric: Rubric) -> Verdict:
    """Parse ``Score: N`` / ``Reason: ...`` strictly; anything else is unscored with the raw text kept."""
    lines = _two_lines(raw)
    if isinstance(lines, str):
        return Verdict(None, None, raw, lines)
    score, reason = _SCORE.fullmatch(lines[0]), _REASON.fullmatch(lines[1])
    if score is None or reason is None:
        return Verdict(None, None, raw, "lines are not 'Score: N' and 'Reason: ...'")
    value = int(score.group(1))
    if not rubric.scale_min <= value <= rubric.scale_max:
        return Verdict(None, None, raw, f"score {value} is outside {rubric.scale_min}-{rubric.scale_max}")
    return Verdict(value, reason.group(1).strip(), raw, None)


def parse_pairwise(raw: str | None) -> PairVerdict:
    """Parse ``Winner: A|B`` / ``Reason: ...`` strictly; anything else is unscored with the raw text kept."""
    lines = _two_lines(raw)
    if isinstance(lines, str):
        return PairVerdict(None, None, raw, lines)
    winner, reason = _WINNER.fullmatch(lines[0]), _REASON.fullmatch(lines[1])
    if winner is None or reason is None:
        return PairVerdict(None, None, raw, "lines are not 'Winner: A|B' and 'Reason: ...'")
    return PairVerdict(winner.group(1).upper(), reason.group(1).strip(), raw, None)
