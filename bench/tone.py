"""Tone scoring cost against generation cost (embedded SmolLM2-135M, CPU, greedy, no cache).

Generates replies to the house-style held-out prompts with the prompt-only variant's system
prompt (the task's decoding: 96 new tokens, batch 16), then scores them with the `tone`
scorer as `suites/house_style/harness.yaml` configures it, timing each part: the sentence
embeddings (all-MiniLM-L6-v2), the style classifier, the fluency token losses (the same
SmolLM2-135M) and the per-case joint. The tone model is fitted (or loaded) before the clock
starts: fitting happens once per training split, not per reply. Figures are per 1,000 replies,
scaled from ``--n``.

    python bench/tone.py [--n 64]

Last line: ``ratio tone scoring/generation = X.XX`` (target < 0.1).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # bench.floor importable
from bench.floor import FloorRatio, Shape, generation_floor_s, generation_work, header, prefill_floor_s  # noqa: E402
from harness.config.eval_config import load_eval_config  # noqa: E402
from harness.eval.backends.local import LocalBackend  # noqa: E402
from harness.eval.cases import load_cases  # noqa: E402
from harness.eval.generation import generate_cached  # noqa: E402
from harness.eval.variants import Variant  # noqa: E402
from harness.scorers.base import make_scorer  # noqa: E402
from harness.scorers.tone import ToneScorer  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=64, help="replies to generate and score (figures scaled to 1,000)")
    parser.add_argument("--config", default=str(ROOT / "suites/house_style/harness.yaml"))
    args = parser.parse_args()
    config = load_eval_config(args.config)
    if config.scoring.tone is None:
        raise SystemExit(f"{args.config}: no scoring.tone")
    cases = load_cases(config.cases, config.task)
    cases = (cases * (args.n // len(cases) + 1))[: args.n]
    requests = [r for r in Variant(config.variants["prompt-only"]).requests(cases, 1)]
    backend = LocalBackend(config.model, batch_size=16)
    backend.generate(requests[:1], config.decoding)  # load and warm up
    peaks, shape = header("fp32"), Shape.of(backend.model)
    started = time.perf_counter()
    generations = generate_cached(backend, requests, config.decoding, None, chunk_size=32, progress=False)
    generation_s = time.perf_counter() - started
    texts = [g.text or "" for g in generations]

    scorer = make_scorer("tone", config=config.scoring.tone).scorer
    assert isinstance(scorer, ToneScorer)
    model = scorer.model()  # fitted once per training split (or loaded from the store): not per reply
    scorer.encode(["warm up"])
    scorer.token_losses(["warm up the fluency model"])
    timings = {}
    started = time.perf_counter()
    embeddings = scorer.encode(texts + [c.reference or "" for c in cases])
    timings["embedding (replies + references)"] = time.perf_counter() - started
    started = time.perf_counter()
    if model.classifier is not None:
        model.classifier.probability(embeddings[: len(texts)])
    timings["style classifier"] = time.perf_counter() - started
    started = time.perf_counter()
    scorer.token_losses(texts)
    timings["fluency token losses"] = time.perf_counter() - started
    started = time.perf_counter()
    joint = [next(s.value for s in scorer.score_text(c, t) if s.metric == "tone_joint") for c, t in zip(cases, texts,
                                                                                                           strict=True)]
    timings["joint per case (memoised axes + rules)"] = time.perf_counter() - started
    scale = 1000 / len(texts)
    print(f"{len(texts)} replies; tone model {model.key[:12]} (refused: {model.refused}); "
          f"mean tone_joint {sum(j or 0 for j in joint) / len(joint):.3f}")
    print(f"generation: {generation_s * scale:8.1f} s per 1,000 replies")
    for name, seconds in timings.items():
        print(f"{name:40s} {seconds * scale:8.1f} s per 1,000 replies")
    scoring_s = sum(timings.values())
    print(f"{'tone scoring, all':40s} {scoring_s * scale:8.1f} s per 1,000 replies")
    prompt, new = sum(g.prompt_tokens or 0 for g in generations), sum(g.completion_tokens or 0 for g in generations)
    print(FloorRatio("generation", generation_s, generation_floor_s(shape, prompt, new, 16, peaks),
                     generation_work(prompt, new, 16, "fp32", len(generations))).line())
    # fluency is a forward pass of the same model over each reply: its floor is the prefill of their tokens
    reply_tokens = sum(len(ids) for ids in backend.tokenizer(texts, add_special_tokens=False)["input_ids"])
    print(FloorRatio("fluency token losses", timings["fluency token losses"], prefill_floor_s(shape, reply_tokens, peaks),
                     f"{reply_tokens:,} reply tokens, one forward pass (the generating model's shape), fp32; "
                     "embeddings and classifier not counted").line())
    print(f"ratio tone scoring/generation = {scoring_s / generation_s:.2f}")


if __name__ == "__main__":
    main()
