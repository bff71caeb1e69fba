"""``harness calibrate LABELS...``: the judge against every rater and their consensus; exit 0 it may count, 1 not, 2 bad input.

Several LABELS files (one per rater, say) are read as one set. The judge's unscored rate must
be at most ``--max-unscored``; the raters must agree with each other (Krippendorff's alpha at
least ``--min-alpha``, else the verdict is HUMANS DISAGREE, exit 1); then with at least three
raters on 30+ shared items the alternative annotator test decides (``--rule auto``), otherwise
the lower end of the 95% bootstrap interval of the chosen kappa against the consensus.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from harness.cli.options import add_format_option, print_json, wants_json

if TYPE_CHECKING:
    from harness.judge.calibrate import Calibration

def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("calibrate", help="spot-check an LLM judge against human labels", description=__doc__)
    parser.add_argument("labels", metavar="LABELS", nargs="+", help="CSV or JSONL with human (and judge, or "
                        "--judge-scores), optional id, variant, rater; several files are read as one set")
    parser.add_argument("--judge-scores", metavar="F", help="judge scores joined on id (the hidden file of `judge sample`, "
                        "or what `judge score`/`judge run` wrote)")
    add_format_option(parser)
    parser.add_argument("--min-kappa", type=float, default=0.6, metavar="X", help="lowest acceptable lower interval end "
                        "(default 0.6)")
    parser.add_argument("--statistic", choices=("quadratic_weighted_kappa", "cohen_kappa"), default="quadratic_weighted_kappa")
    parser.add_argument("--max-unscored", type=float, default=0.1, metavar="R", help="highest acceptable unscored rate")
    parser.add_argument("--rule", choices=("auto", "alt-test", "kappa"), default="auto", help="pass rule: auto (the "
                        "alternative annotator test with 3+ raters, else kappa against the consensus), alt-test or kappa")
    parser.add_argument("--epsilon", type=float, default=0.2, metavar="E", help="the alternative annotator test's cost "
                        "margin (paper: 0.2 expert raters, 0.15 skilled, 0.1 crowd workers; default 0.2)")
    parser.add_argument("--min-alpha", type=float, default=0.667, metavar="A", help="lowest Krippendorff's alpha between "
                        "raters for any judge to be validated (default 0.667)")
    parser.add_argument("--scale", default=None, metavar="LO-HI", help="ordinal scale (default: the rubric's, else 1-5)")
    parser.add_argument("--rubric", help="rubric YAML: its scale; and its hash must match the judge scores'")
    parser.add_argument("--pairs", metavar="FILE", help="pairwise verdicts (`judge score --pairs`) for the position and "
                        "verbosity probes")
    parser.add_argument("--store", metavar="DIR", help="store the calibration here, bound to the judge identity "
                        "(its agreement figures also go to the run history, for the report)")
    parser.add_argument("--task", default="judge", help="task the figures are recorded under in the run history")
    parser.add_argument("--plot", metavar="FILE", help="draw the confusion matrix to FILE (.png or .svg)")
    parser.add_argument("--n-resamples", type=int, default=2000, help="bootstrap resamples (default 2000)")
    parser.add_argument("--tone", metavar="CONFIG", help="calibrate the tone scorer of this harness.yaml (its "
                        "scoring.tone) in place of an LLM judge: it scores --replies, and those scores are the judge's")
    parser.add_argument("--replies", metavar="FILE", help="with --tone: JSONL replies (id, input, output, variant) the "
                        "labels rate")
    parser.add_argument("--tone-scores", metavar="OUT", help="with --tone: also keep the tone scores here (judge-scores "
                        "JSONL)")
    parser.set_defaults(handler=run)


def _scale(args: argparse.Namespace) -> list[int]:
    from harness.errors import InputError
    from harness.judge import load_rubric

    if args.scale:
        lo, _, hi = args.scale.partition("-")
        if not (lo.strip().isdigit() and hi.strip().isdigit() and int(lo) < int(hi)):
            raise InputError(f"--scale {args.scale!r}: expected LO-HI with LO < HI, e.g. 1-5", code="bad-option")
        return list(range(int(lo), int(hi) + 1))
    return load_rubric(args.rubric).labels if args.rubric else [1, 2, 3, 4, 5]


def _load(args: argparse.Namespace, scale: list[int]):
    from harness.errors import InputError
    from harness.judge import load_rubric
    from harness.judge.labels import combine, read_labels
    from harness.judge.scores_file import read_judge_scores

    if args.judge_scores is None:
        return combine([read_labels(path, (scale[0], scale[-1])) for path in args.labels])
    scores = read_judge_scores(args.judge_scores, (scale[0], scale[-1]))
    if args.rubric and scores.rubric_sha256 and scores.rubric_sha256 != load_rubric(args.rubric).sha256:
        raise InputError(f"the judge scores were made with another rubric ({scores.rubric_sha256[:12]}) than {args.rubric}",
                         path=args.judge_scores, code="rubric-mismatch")
    labels = combine([read_labels(path, (scale[0], scale[-1]), scores.scores) for path in args.labels])
    labels.judge_identity, labels.rubric_sha256, labels.retest = scores.judge_identity, scores.rubric_sha256, scores.retest
    return labels


def _check_options(args: argparse.Namespace) -> None:
    from harness.errors import InputError

    for name, value, low, high in (("--epsilon", args.epsilon, 0.0, 1.0), ("--min-alpha", args.min_alpha, -1.0, 1.0),
                                   ("--max-unscored", args.max_unscored, 0.0, 1.0)):
        if not low <= value <= high:
            raise InputError(f"{name} {value:g}: expected a number from {low:g} to {high:g}", code="bad-option")


def run(args: argparse.Namespace) -> int:
    from harness.judge.calibrate import Threshold, calibrate
    from harness.judge.probes import load_pairs, position_probe, retest_probe, verbosity_probe
    from harness.judge.report import render_text

    _check_options(args)
    scale = _scale(args)
    if args.tone:
        _tone_as_judge(args, scale)
    labels = _load(args, scale)
    threshold = Threshold(args.min_kappa, args.statistic, args.max_unscored, rule=args.rule, epsilon=args.epsilon,
                          min_alpha=args.min_alpha)
    calibration = calibrate(labels, scale, threshold, n_resamples=args.n_resamples)
    if args.pairs:
        rows = load_pairs(args.pairs)
        human = labels.consensus()
        calibration.bias_probes.update(position=position_probe([r[0] for r in rows]), verbosity=verbosity_probe(rows, human))
    if labels.retest:
        calibration.bias_probes["retest"] = retest_probe(labels.retest, scale)
    if args.plot:
        from harness.judge.plot import plot_confusion

        plot_confusion(calibration, args.plot)
    if args.store:
        from harness.judge.store import store_calibration

        store_calibration(calibration, args.store)
        _record(calibration, args.task)
    if wants_json(args):
        print_json(calibration)
    else:
        print(render_text(calibration))
    return 0 if calibration.passed else 1


def _record(calibration: Calibration, task: str) -> None:
    """Agreement figures into the run history; a failure there is only a warning (the calibration's answer stands)."""
    from harness.history import Figure, add_figures

    detail = f"judge {str(calibration.judge_identity)[:12]}: {'PASS' if calibration.passed else 'FAIL'} ({calibration.reason})"
    add_figures([Figure("judge", "agreement", calibration.created_at, task, f"judge/{name}", estimate.value, estimate.low,
                        estimate.high, n=calibration.n, detail=detail)
                 for name, estimate in calibration.statistics.items()
                 if name in ("quadratic_weighted_kappa", "cohen_kappa", "exact_agreement") and estimate.value is not None],
                quiet=True)


def _tone_as_judge(args: argparse.Namespace, scale: list[int]) -> None:
    """Score the replies with the config's tone scorer and calibrate those scores as the judge's (``--tone``)."""
    import tempfile

    from harness.errors import InputError
    from harness.judge.tone_scores import write_tone_judge_scores

    if not args.replies or args.judge_scores:
        raise InputError("--tone needs --replies FILE (the labelled replies) and replaces --judge-scores",
                         code="bad-option")
    out = args.tone_scores or str(Path(tempfile.mkdtemp(prefix="harness-tone-")) / "tone_scores.jsonl")
    args.judge_scores = str(write_tone_judge_scores(args.tone, args.replies, scale, out))
