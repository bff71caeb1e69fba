"""Bias probes: position (pairs in both orders), verbosity (longer of two equally rated replies)
and test-retest stability (the same items judged again with sampling)."""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from itertools import combinations
from pathlib import Path

from scipy.stats import binomtest
from sklearn.metrics import cohen_kappa_score

from harness.errors import InputError
from harness.fileio import atomic_write_text
from harness.judge.records import JudgeItem, PairOutcome, PairVerdict

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RateProbe:
    """A rate that is 0.5 for an unbiased judge, with its exact binomial test."""

    n: int
    """Parsed verdicts counted."""
    rate: float | None
    """Share of verdicts for the first-shown (position) or the longer reply (verbosity)."""
    p_value: float | None
    """Two-sided exact binomial test against 0.5."""


def input_pairs(items: Sequence[JudgeItem]) -> list[tuple[JudgeItem, JudgeItem]]:
    """Every pair of replies to the same input (the natural pairs of a multi-variant set)."""
    by_input: dict[str, list[JudgeItem]] = defaultdict(list)
    for item in items:
        by_input[item.input].append(item)
    return [pair for group in by_input.values() for pair in combinations(group, 2)]


def write_pairs(path: str | Path, outcomes: Sequence[PairOutcome], pairs: Sequence[tuple[JudgeItem, JudgeItem]]) -> None:
    """Pair outcomes as JSONL, each with both replies' word counts (for the verbosity probe)."""
    lines = [json.dumps({**o.to_dict(), "first_words": len(a.output.split()), "second_words": len(b.output.split())})
             for o, (a, b) in zip(outcomes, pairs, strict=True)]
    atomic_write_text(path, "".join(line + "\n" for line in lines))


def load_pairs(path: str | Path) -> list[tuple[PairOutcome, int, int]]:
    """Pair outcomes and word counts written by :func:`write_pairs`.

    Raises:
        InputError: a line is not a pair record.
    """
    rows = []
    for number, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        try:
            d = json.loads(line)
            outcome = PairOutcome(d["first"], d["second"], PairVerdict(**d["forward"]), PairVerdict(**d["backward"]))
            rows.append((outcome, int(d["first_words"]), int(d["second_words"])))
        except (ValueError, KeyError, TypeError) as exc:
            raise InputError(f"not a pair record ({exc}); write it with `harness judge score --pairs`", path=str(path),
                             line=number, code="bad-pairs") from exc
    return rows


def _rate(hits: int, n: int) -> RateProbe:
    return RateProbe(n, hits / n if n else None, float(binomtest(hits, n).pvalue) if n else None)


def position_probe(outcomes: Sequence[PairOutcome]) -> dict[str, object]:
    """How often the reply shown first wins, and how often both orders agree."""
    verdicts = [v.winner for o in outcomes for v in (o.forward, o.backward) if v.winner is not None]
    both = [o for o in outcomes if o.forward.winner is not None and o.backward.winner is not None]
    consistent = sum(o.preferred is not None for o in both)
    unscored = sum(v.winner is None for o in outcomes for v in (o.forward, o.backward))
    return {"first_wins": asdict(_rate(verdicts.count("A"), len(verdicts))), "pairs": len(outcomes),
            "order_consistency": consistent / len(both) if both else None, "unscored_verdicts": unscored}


def verbosity_probe(rows: Sequence[tuple[PairOutcome, int, int]], human: Mapping[str, int]) -> dict[str, object]:
    """Among pairs the humans rated equal and whose lengths differ, how often the judge picks the longer reply."""
    longer = total = 0
    for outcome, first_words, second_words in rows:
        a, b = human.get(outcome.first), human.get(outcome.second)
        if a is None or a != b or first_words == second_words:
            continue
        long_id = outcome.first if first_words > second_words else outcome.second
        for verdict, shown_first in ((outcome.forward, outcome.first), (outcome.backward, outcome.second)):
            if verdict.winner is not None:
                other = outcome.second if shown_first == outcome.first else outcome.first
                total += 1
                longer += (shown_first if verdict.winner == "A" else other) == long_id
    return {"longer_wins": asdict(_rate(longer, total))}


def retest_probe(samples: Mapping[int, Mapping[str, int | None]], labels: Sequence[int]) -> dict[str, object]:
    """Agreement of the judge with itself across sampled repeats (samples 1 and 2) on items scored in both."""
    if len(samples) < 2:
        return {"n": 0, "exact_agreement": None, "quadratic_weighted_kappa": None}
    first, second = (samples[k] for k in sorted(samples)[:2])
    ids = [i for i in first if first[i] is not None and second.get(i) is not None]
    x, y = [first[i] for i in ids], [second[i] for i in ids]
    qwk = float(cohen_kappa_score(x, y, labels=list(labels), weights="quadratic")) if len(set(x) | set(y)) > 1 else None
    return {"n": len(ids), "exact_agreement": sum(p == q for p, q in zip(x, y, strict=True)) / len(ids) if ids else None,
            "quadratic_weighted_kappa": qwk}
