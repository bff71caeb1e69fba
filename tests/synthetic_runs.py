"""Synthetic run folders (manifest.json + results.jsonl) shaped exactly as ``harness eval`` writes them."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path

from harness.eval.cases import case_id
from harness.records import Case, CaseResult, Generation, Score


def make_case(task: str, index: int, prefix: str = "") -> Case:
    """Case ``index`` of ``task``, with the id the loader would give it (``prefix`` starts its user turn)."""
    messages = ({"role": "user", "content": f"{prefix}ticket {index}: the printer on floor {index % 7} is broken"},)
    reference = json.dumps({"category": "hardware" if index % 2 else "software"})
    return Case(case_id(task, messages, reference), task, messages, reference, {"source": f"heldout.jsonl:{index + 1}"})


def write_synthetic_run(runs_dir: Path, task: str, created_at: str, scores: Mapping[str, Sequence[Sequence[float]]], *,
                        metric: str = "field:category", adapter: str = "adapter-a", model: str = "model-1",
                        tokens: int = 40, config: str = "config-1", prefix: str = "", wrong: str | None = None) -> Path:
    """Write one run: ``scores[variant][case][sample]`` is the 0/1 (or real) score of ``metric``.

    ``adapter`` is the fine-tuned variant's adapter sha256 (change it to mark a new adapter);
    ``prefix`` starts every case's user turn and ``wrong`` replaces the failing output (hostile text tests).
    """
    run_id = f"{created_at.replace(':', '').replace('-', '')[:15]}-{task}"
    folder = runs_dir / run_id
    folder.mkdir(parents=True)
    lines = []
    for variant, per_case in scores.items():
        for index, samples in enumerate(per_case):
            case = make_case(task, index, prefix)
            for sample, value in enumerate(samples):
                text = case.reference if value == 1 else (wrong if wrong is not None else json.dumps({"category": "other"}))
                generation = Generation(case.id, variant, sample, text, tokens, 5, 0.1 + 0.01 * index, False, None)
                lines.append(CaseResult(case, generation, [Score(metric, float(value))]).to_json())
    (folder / "results.jsonl").write_text("\n".join(lines) + "\n")
    variants = {v: {"kind": "adapter" if v.startswith("fine-tuned") else "prompt", "spec_sha256": f"spec-{v}",
                    "adapter": {"sha256": adapter} if v.startswith("fine-tuned") else None} for v in scores}
    manifest = {"kind": "harness-run", "run_id": run_id, "created_at": created_at, "task": task, "config": "harness.yaml",
                "config_sha256": config, "cases": {"path": "heldout.jsonl", "sha256": "cases-1", "count": 0},
                "split_sha256": None, "backend": {"kind": "local", "model": {"spec": model}}, "variants": variants,
                "decoding": {"max_new_tokens": 8, "temperature": 0.0}, "repeats": max(len(s) for v in scores.values() for s in v),
                "environment": {"git": {"sha": "abc123", "dirty": False}}}
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=2))
    return folder


def write_decision(folder: Path, task: str, verdict: str, created_at: str, run: Path | None, *, versioned: bool) -> Path:
    """A ``decision.json`` as the gate writes it (``versioned`` adds ``schema_version`` and ``detail``)."""
    folder.mkdir(parents=True, exist_ok=True)
    failing = verdict != "accepted"
    check = {"name": "beats prompt-only on field:category", "verdict": "fail" if failing else "pass"}
    check["detail" if versioned else "explanation"] = "delta -0.10 [-0.2, -0.01]" if failing else "delta +0.2 [0.1, 0.3]"
    decision = {"kind": "harness-decision", "verdict": verdict, "task": task, "candidate": folder.name,
                "created_at": created_at, "checks": [check], "variants": {}, "inputs": {"candidate_adapter_sha256": "adapter-b"},
                "run": str(run) if run else None}
    if versioned:
        decision["schema_version"] = 1
    (folder / "decision.json").write_text(json.dumps(decision))
    (folder / "manifest.json").write_text(json.dumps({"kind": "harness-candidate", "stats": {"wall_seconds": 321.0}}))
    return folder / "decision.json"


def planted_history(root: Path) -> dict[str, Path]:
    """Two nights of two tasks with planted changes (metric ``answer_correct``, pass/fail).

    - triage, fine-tuned (new adapter on night 2): 31 of 150 cases newly fail and case 149 is
      newly fixed (0.933 → 0.733, a regression); cases 140-148 still fail.
    - triage, prompt-only (identical inputs both nights): case 0 passes on night 1 and fails on
      night 2 (flaky across identical runs); case 1 disagrees across its repeats (flaky).
    - facts, fine-tuned (new adapter): the same drop on 10 cases (0.9 → 0.7), a wiggle.
    """
    runs, candidates = root / "runs", root / "candidates"
    night1 = {"fine-tuned": [[1]] * 140 + [[0]] * 10, "prompt-only": [[1]] * 150}
    night2 = {"fine-tuned": [[0]] * 31 + [[1]] * 109 + [[0]] * 9 + [[1]],
              "prompt-only": [[0], [1, 0]] + [[1]] * 148}
    first = write_synthetic_run(runs, "triage", "2026-03-01T02:00:00+00:00", night1, metric="answer_correct", adapter="a")
    second = write_synthetic_run(runs, "triage", "2026-03-02T02:00:00+00:00", night2, metric="answer_correct", adapter="b")
    write_synthetic_run(runs, "facts", "2026-03-01T02:10:00+00:00", {"fine-tuned": [[1]] * 9 + [[0]]},
                        metric="answer_correct", adapter="a")
    write_synthetic_run(runs, "facts", "2026-03-02T02:10:00+00:00", {"fine-tuned": [[0]] * 2 + [[1]] * 7 + [[0]]},
                        metric="answer_correct", adapter="b")
    write_decision(candidates / "cand-a", "triage", "accepted", "2026-03-01T03:00:00+00:00", first, versioned=False)
    write_decision(candidates / "cand-b", "triage", "rejected", "2026-03-02T03:00:00+00:00", second, versioned=True)
    return {"runs": runs, "candidates": candidates, "first": first, "second": second}
