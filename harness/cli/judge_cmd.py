"""``harness judge``: score outputs with a rubric judge (``run``, ``score``) and pick items for human labels (``sample``)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from harness.cli.options import add_cache_options, add_format_option, print_json, wants_json
from harness.models.catalogue import DEFAULT_MODEL

if TYPE_CHECKING:
    from harness.judge import Judge


def _judge_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--rubric", required=True, help="rubric YAML (scale, instructions, levels)")
    parser.add_argument("--model", default=DEFAULT_MODEL, help="judge model (local name or path; with "
                        "--base-url the server's model name)")
    parser.add_argument("--base-url", help="OpenAI-compatible endpoint of the judge, e.g. https://api.openai.com/v1")
    parser.add_argument("--api-key-env", default="OPENAI_API_KEY", help="environment variable holding the key")
    parser.add_argument("--batch-size", type=int, default=16, help="local backend: prompts per generate call")
    add_cache_options(parser, refresh=False)  # the judge reads and writes the cache, or neither
    add_format_option(parser)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("judge", help="LLM-judge scores and spot-check samples", description=__doc__)
    verbs = parser.add_subparsers(dest="judge_verb", metavar="ACTION", required=True)
    run = verbs.add_parser("run", help="judge a run's outputs; writes RUN_DIR/judge_scores.jsonl and judge.json")
    run.add_argument("run_dir", metavar="RUN_DIR")
    _judge_options(run)
    run.set_defaults(handler=run_cmd)
    score = verbs.add_parser("score", help="judge a JSONL of replies (id, input, output, variant), e.g. a labelled set")
    score.add_argument("replies", metavar="REPLIES")
    score.add_argument("--out", required=True, help="judge-scores JSONL to write")
    score.add_argument("--retest", type=int, default=0, metavar="K", help="also K sampled verdicts per item (test-retest)")
    score.add_argument("--pairs", metavar="FILE", help="also compare replies to the same input in both orders; write here")
    score.add_argument("--probe-limit", type=int, metavar="N", help="run the retest and pair probes on N items/pairs only "
                       "(a seeded random subset)")
    _judge_options(score)
    score.set_defaults(handler=score_cmd)
    sample = verbs.add_parser("sample", help="pick judged items for people to label (stratified)")
    sample.add_argument("run_dir", metavar="RUN_DIR")
    sample.add_argument("--n", type=int, default=60, help="items to pick (default 60)")
    sample.add_argument("--out", required=True, help="labels CSV to write; the judge scores go to OUT.judge.jsonl")
    sample.add_argument("--seed", type=int, default=0)
    sample.add_argument("--raters", metavar="A,B,C", help="one CSV per rater (OUT.A.csv, ...) instead of one OUT")
    sample.add_argument("--overlap", type=float, default=0.0, metavar="SHARE", help="with --raters: the share of the "
                        "items every rater labels (the human ceiling; 30+ shared items for the alternative annotator "
                        "test); the rest go to one rater each")
    sample.add_argument("--uniform", action="store_true", help="a uniform random sample instead of a stratified one "
                        "(what the gate's prediction-powered judge comparison needs)")
    sample.set_defaults(handler=sample_cmd)


def _judge(args: argparse.Namespace) -> Judge:
    from harness.eval.cache import GenerationCache
    from harness.judge import configured_judge
    from harness.models.cache import cache_dir

    cache = None if args.cache_mode == "off" else GenerationCache(cache_dir() / "generations.sqlite")
    return configured_judge(args.rubric, args.model, base_url=args.base_url, api_key_env=args.api_key_env,
                            batch_size=args.batch_size, cache=cache, progress=True)


def run_cmd(args: argparse.Namespace) -> int:
    from harness.judge.items import load_run_items
    from harness.judge.runs import judge_run

    items = load_run_items(args.run_dir)
    summary = judge_run(_judge(args), items, args.run_dir)
    if wants_json(args):
        print_json(summary)
    else:
        print(summary.to_text())
    return 0


def _subset(things: list, limit: int | None) -> list:
    """A seeded random subset; a smaller limit takes a prefix of a larger one's (cached verdicts are reused)."""
    import random

    shuffled = list(things)
    random.Random(0).shuffle(shuffled)
    return shuffled[:limit] if limit else list(things)


def score_cmd(args: argparse.Namespace) -> int:
    from harness.judge.items import load_items, write_scores
    from harness.judge.probes import input_pairs, write_pairs

    text = not wants_json(args)
    judge = _judge(args)
    items = load_items(args.replies)
    scores = judge.score(items)
    write_scores(args.out, scores)
    unscored = sum(s.judge is None for s in scores)
    report: dict = {"items": len(items), "unscored": unscored, "unscored_rate": unscored / max(len(items), 1),
                    "judge_identity": judge.identity, "out": args.out, "pairs": None, "retest": None}
    if text:
        print(f"{len(items)} items judged, {unscored} unscored ({unscored / max(len(items), 1):.0%}); identity "
              f"{judge.identity[:12]}; wrote {args.out}")
    if args.pairs:
        pairs = _subset(input_pairs(items), args.probe_limit)
        write_pairs(args.pairs, judge.compare(pairs), pairs)
        report["pairs"] = {"pairs": len(pairs), "out": args.pairs}
        if text:
            print(f"{len(pairs)} pairs compared in both orders; wrote {args.pairs}")
    retest = _subset(items, args.probe_limit)
    for k in range(1, args.retest + 1):
        scores += judge.score(retest, sample=k, temperature=0.7)
        write_scores(args.out, scores)
    if args.retest:
        report["retest"] = {"items": len(retest), "times": args.retest}
        if text:
            print(f"{len(retest)} items judged {args.retest} more times with sampling; wrote {args.out}")
    if not text:
        print_json(report)
    return 0


def sample_cmd(args: argparse.Namespace) -> int:
    from harness.judge.sample import write_sample

    raters = [r.strip() for r in args.raters.split(",")] if args.raters else []
    written, hidden = write_sample(args.run_dir, args.n, args.out, args.seed, raters=raters, overlap=args.overlap,
                                   uniform_sample=args.uniform)
    print(f"wrote {', '.join(map(str, written))} (for labellers) and {hidden} (judge scores: keep it from labellers)")
    return 0
