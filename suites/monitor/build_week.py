"""Build a simulated week of production logs for the triage task (deterministic, seeded).

A quarter of suites/triage/data/triage.jsonl (chosen by the split's hash under the salt
``production``) plays the users of the coming week; the rest stays the reference, with the
existing train/held-out split. The deployed model answers with the reference label. Then:

- Tuesday: the model's schema failures rise to 20% (2% on other days);
- Thursday to Sunday: a new feature, whiteboards, takes 25% of traffic (data/whiteboards.txt,
  50 hand-written messages; the training data never mentions whiteboards); the model, never
  trained on it, mostly answers ``other``;
- every day: a shadow ``rag`` variant on 5% of requests, human corrections on 2%, personal data
  (e-mail, phone) in 3% of messages, and three malformed lines in the week.

    python suites/monitor/build_week.py [--out suites/monitor/generated] [--per-day 150] [--days 7]
"""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

from harness.data.load import load_examples
from harness.data.split import split_score
from harness.records import Example

HERE = Path(__file__).resolve().parent
TRIAGE = HERE.parent / "triage" / "data"
START = datetime(2026, 11, 23, tzinfo=UTC)  # a Monday
FAILURE_DAY, NEW_TOPIC_FROM = 1, 3
SYSTEM = "You are a support triage bot. Reply only with JSON."
PII = [" You can reach me at dana.kowalski@example.com.", " Call me back on +44 20 7946 0958.",
       " My card 4111 1111 1111 1111 was charged."]


def reference_and_pool() -> tuple[list[Example], list[Example], list[Example]]:
    """The reference train and held-out examples, and the production pool."""
    def production(e: Example) -> bool:
        return split_score(e, 0, "production") < 0.25
    train = [e for e in load_examples(TRIAGE / "split" / "train.jsonl") if not production(e)]
    heldout = [e for e in load_examples(TRIAGE / "split" / "heldout.jsonl") if not production(e)]
    pool = [e for e in load_examples(TRIAGE / "triage.jsonl") if production(e)]
    return train, heldout, pool


def day_lines(day: int, per_day: int, pool: list[Example], topic: list[str], rng: np.random.Generator) -> list[dict]:
    """One day's log records (dicts), in time order."""
    share = 0.25 if day >= NEW_TOPIC_FROM else 0.0
    failure_rate = 0.2 if day == FAILURE_DAY else 0.02
    seconds = np.sort(rng.uniform(0, 86400, per_day))
    lines = []
    for second in seconds:
        if rng.random() < share:
            user, gold = topic[rng.integers(len(topic))], _topic_reply(rng)
        else:
            example = pool[rng.integers(len(pool))]
            user, gold = example.messages[-2]["content"], example.output or ""
        if rng.random() < 0.03:
            user += PII[rng.integers(len(PII))]
        stamp = (START + timedelta(days=day, seconds=float(second))).isoformat()
        lines.append(_record(user, gold, stamp, failure_rate, rng))
        if rng.random() < 0.05:
            shadow = gold if rng.random() < 0.7 else _topic_reply(rng)
            lines.append({**_record(user, shadow, stamp, 0.0, rng), "variant": "rag"})
    return lines


def _record(user: str, gold: str, stamp: str, failure_rate: float, rng: np.random.Generator) -> dict:
    reply, extra = gold, {}
    if rng.random() < failure_rate:
        reply = "Sure! Here is the triage: " + gold[: int(rng.integers(5, len(gold)))]
    elif rng.random() < 0.02:
        reply, extra = _topic_reply(rng), {"correction": gold}
    messages = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": user}, {"role": "assistant", "content": reply}]
    latency = float(np.round(rng.lognormal(np.log(300), 0.4), 1))
    return {"timestamp": stamp, "variant": "fine-tuned", "latency_ms": latency, "messages": messages, **extra}


def _topic_reply(rng: np.random.Generator) -> str:
    category = rng.choice(["other", "how_to", "bug", "feature_request"], p=[0.5, 0.2, 0.15, 0.15])
    return json.dumps({"category": str(category), "priority": str(rng.choice(["low", "medium"])), "needs_human": False})


def write_jsonl(path: Path, rows: list[str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(row + "\n" for row in rows), encoding="utf-8")


def build(out: Path, per_day: int = 150, days: int = 7, seed: int = 0) -> Path:
    """Write train.jsonl, heldout.jsonl and logs.jsonl under ``out``; return the log's path."""
    train, heldout, pool = reference_and_pool()
    topic = [line for line in (HERE / "data" / "whiteboards.txt").read_text(encoding="utf-8").splitlines() if line.strip()]
    rng = np.random.default_rng(seed)
    rows = [json.dumps(line, ensure_ascii=False) for day in range(days) for line in day_lines(day, per_day, pool, topic, rng)]
    malformed = ['{"messages": [{"role": "user", "content": "truncated', '{"timestamp": "2026-11-24"}',
                 '{"timestamp": "last tuesday", "messages": [{"role": "user", "content": "hi"}]}']
    for position, bad in zip((17, 400, 900), malformed, strict=True):
        rows.insert(min(position, len(rows)), bad)
    write_jsonl(out / "train.jsonl", [e.to_json_line() for e in train])
    write_jsonl(out / "heldout.jsonl", [e.to_json_line() for e in heldout])
    write_jsonl(out / "logs.jsonl", rows)
    return out / "logs.jsonl"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(HERE / "generated"))
    parser.add_argument("--per-day", type=int, default=150)
    parser.add_argument("--days", type=int, default=7)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    path = build(Path(args.out), args.per_day, args.days, args.seed)
    print(f"{path}: {sum(1 for _ in path.open())} lines")


if __name__ == "__main__":
    main()
