"""``harness harvest``: the production examples worth a person's time, ranked, for the next curation round.

Reasons, in priority order: ``schema-failure`` (the reply fails the output schema),
``human-corrected`` (a person wrote a better reply), ``novelty`` (the input is in a cluster
the held-out set does not cover; larger clusters first), ``judge`` (a judge score below
:data:`JUDGE_UNCERTAIN`; lowest first) and ``variant-disagreement`` (variants answered the same
input differently). The reasons take turns, each giving its best remaining candidate, so the
top of the queue shows every kind of problem. Candidates whose input is a near duplicate of a
training or held-out input, or of an input already queued, are dropped (the lint's MinHash
machinery, :mod:`harness.data.neardup`). Personal data is masked before anything is kept.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from harness.data.neardup import find_near_duplicates
from harness.data.normalize import dialogue_text
from harness.monitor.coverage import CoverageModel
from harness.monitor.health import ReplyChecker
from harness.monitor.pii import mask_pii
from harness.monitor.records import LogRecord
from harness.monitor.reference import Reference

REASONS = ("schema-failure", "human-corrected", "novelty", "judge", "variant-disagreement")
JUDGE_UNCERTAIN = 0.6
_BATCH = 64


@dataclass(frozen=True)
class Candidate:
    """A log record proposed for review, with why."""

    record: LogRecord
    reason: str
    """One of :data:`REASONS`."""
    detail: str
    """What made it a candidate, for the reviewer."""
    order: float
    """Sort key within its reason: lower is more worth reviewing."""


@dataclass(frozen=True)
class QueueItem:
    """One line of the review queue."""

    messages: tuple[dict[str, str], ...]
    """The masked request and, last, the reply to review (the person's correction where there is one)."""
    source: str
    line: int
    reasons: tuple[str, ...]
    detail: str
    rank: int

    def to_json_line(self) -> str:
        """The chat-format line with its provenance under ``metadata.harvest`` (``harness lint`` accepts it as is)."""
        provenance = {"source": self.source, "line": self.line, "reason": self.reasons[0], "reasons": list(self.reasons),
                      "detail": self.detail, "rank": self.rank}
        return json.dumps({"messages": list(self.messages), "metadata": {"harvest": provenance}}, ensure_ascii=False)


def find_candidates(records: Sequence[LogRecord], reference: Reference) -> list[Candidate]:
    """Every candidate of every reason (a record may appear under several)."""
    checker = ReplyChecker(reference)
    found = [Candidate(r, "schema-failure", "the reply is missing" if r.reply is None else "the reply fails the output schema",
                       r.line) for r in records if checker.failed(r.reply)]
    found += [Candidate(r, "human-corrected", "a person corrected the reply", r.line) for r in records if r.correction]
    found += _novel(records, reference)
    found += [Candidate(r, "judge", f"judge score {r.judge_score:.2f}", r.judge_score) for r in records
              if r.judge_score is not None and r.judge_score < JUDGE_UNCERTAIN]
    return found + _disagreements(records, checker)


def _novel(records: Sequence[LogRecord], reference: Reference) -> list[Candidate]:
    coverage = CoverageModel(reference).coverage(records, max_clusters=10_000)
    by_line = {r.line: r for r in records}
    found = []
    for rank, cluster in enumerate(coverage.clusters):
        detail = f"uncovered cluster of {cluster.count} inputs about {', '.join(cluster.terms[:3]) or '?'}"
        found += [Candidate(by_line[line], "novelty", detail, rank + i / (len(cluster.lines) + 1))
                  for i, line in enumerate(cluster.lines)]
    return found


def _disagreements(records: Sequence[LogRecord], checker: ReplyChecker) -> list[Candidate]:
    groups: dict[str, list[LogRecord]] = {}
    for record in records:
        if record.variant is not None:
            groups.setdefault(record.input_text, []).append(record)
    found = []
    for group in groups.values():
        answers = {(r.variant, json.dumps(checker.parsed(r.reply), sort_keys=True) if checker.parsed(r.reply) else r.reply)
                   for r in group}
        if len({v for v, _ in answers}) >= 2 and len({a for _, a in answers}) >= 2:
            variants = ", ".join(sorted({str(v) for v, _ in answers}))
            found.append(Candidate(group[0], "variant-disagreement", f"{variants} answered differently", group[0].line))
    return found


def build_queue(candidates: Sequence[Candidate], reference: Reference, source: str, n: int) -> list[QueueItem]:
    """Rank, mask and de-duplicate candidates into at most ``n`` queue items."""
    reasons: dict[str, list[str]] = {}
    for c in candidates:
        reasons.setdefault(c.record.input_text, []).append(c.reason)
    known = [dialogue_text(e.prompt_messages) for e in (*reference.train, *reference.heldout)]
    queued: list[str] = []
    items: list[QueueItem] = []
    for batch in _batches(_round_robin(candidates), _BATCH):
        masked = [(c, _masked_messages(c.record)) for c in batch]
        texts = [dialogue_text(m[:-1]) for _, m in masked]
        seen = {d.query for d in find_near_duplicates(texts, known + queued)}
        this_batch: list[str] = []
        for i, (candidate, messages) in enumerate(masked):
            if i in seen or (this_batch and find_near_duplicates([texts[i]], this_batch)):
                continue
            this_batch.append(texts[i])
            queued.append(texts[i])
            order = tuple(r for r in REASONS if r in reasons[candidate.record.input_text])
            items.append(QueueItem(messages, source, candidate.record.line, order, candidate.detail, len(items) + 1))
            if len(items) == n:
                return items
    return items


def _round_robin(candidates: Sequence[Candidate]) -> Iterator[Candidate]:
    queues = [iter(sorted((c for c in candidates if c.reason == reason), key=lambda c: c.order)) for reason in REASONS]
    taken: set[str] = set()  # one candidate per distinct input: a repeat passes its reason's turn on to the next candidate
    while queues:
        for queue in list(queues):
            candidate = next((c for c in queue if c.record.input_text not in taken), None)
            if candidate is None:
                queues.remove(queue)
                continue
            taken.add(candidate.record.input_text)
            yield candidate


def _batches(items: Iterator[Candidate], size: int) -> Iterator[list[Candidate]]:
    batch: list[Candidate] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def _masked_messages(record: LogRecord) -> tuple[dict[str, str], ...]:
    reply = record.correction or record.reply or ""
    request = tuple({"role": m["role"], "content": mask_pii(m["content"])} for m in record.messages)
    return (*request, {"role": "assistant", "content": mask_pii(reply)})
