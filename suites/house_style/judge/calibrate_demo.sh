#!/usr/bin/env bash
# The house-style judge calibration, end to end: judge the 150 labelled replies with the
# embedded SmolLM2-135M (cached, so a rerun takes seconds), then calibrate it against the
# human labels and store the result under the judge identity. Prints one line and exits
# like `harness calibrate`: 0 the judge's scores may count, 1 they may not, 2 bad input.
#   OUT=runs/judge-demo  PROBE_LIMIT=16  JUDGE_ARGS="--base-url URL --model NAME"  PYTHON=python
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="${OUT:-runs/judge-demo}"
py="${PYTHON:-python}"
mkdir -p "$out"
# shellcheck disable=SC2086  # JUDGE_ARGS is a list of flags
"$py" -m harness judge score "$here/replies.jsonl" --rubric "$here/rubric.yaml" --out "$out/judge_scores.jsonl" \
    --retest 2 --pairs "$out/pairs.jsonl" --probe-limit "${PROBE_LIMIT:-16}" ${JUDGE_ARGS:-} >&2
status=0
"$py" -m harness calibrate "$here/labels.csv" --judge-scores "$out/judge_scores.jsonl" --pairs "$out/pairs.jsonl" \
    --rubric "$here/rubric.yaml" --store "$out/calibrations" --plot "$out/confusion.png" --format json \
    > "$out/calibration.json" || status=$?
[ "$status" -le 1 ] || exit "$status"
"$py" - "$out/calibration.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
f = lambda e: "n/a" if e["value"] is None else f"{e['value']:.2f}" + ("" if e["low"] is None else f" [{e['low']:.2f}, {e['high']:.2f}]")
h, p = c["human_agreement"] or {}, c["bias_probes"]
num = lambda x: "n/a" if x is None else f"{x:.2f}"
rate = lambda r: "n/a" if r["rate"] is None else f"{r['rate']:.0%} of {r['n']}"
print(f"judge {c['judge_identity'][:12]} on {c['n']} items ({c['unscored_rate']:.0%} unscored): "
      f"QWK {f(c['quadratic_weighted_kappa'])}, kappa {f(c['cohen_kappa'])}, exact {f(c['exact_agreement'])} "
      f"(constant guess {c['baseline']['exact_agreement']:.2f}); human-human QWK {h.get('quadratic_weighted_kappa', 0):.2f}, "
      f"alpha {f(h['krippendorff_alpha_ordinal']) if h else 'n/a'}; first-shown wins {rate(p['position']['first_wins'])}, "
      f"longer wins {rate(p['verbosity']['longer_wins'])}, retest exact {num(p.get('retest', {}).get('exact_agreement'))}; "
      f"{'PASS' if c['passed'] else 'FAIL'}: {c['reason']}")
for r in c["raters"]:  # the judge and each rater against the other raters' median, same items (README: how to read it)
    jo, ro = r["judge_vs_others"], r["rater_vs_others"]
    print(f"  rater {r['rater']}: judge vs rater QWK {f(r['judge_vs_rater']['statistics']['quadratic_weighted_kappa'])} "
          f"(n={r['judge_vs_rater']['n']}); against the other raters' median (n={jo['n']}): judge QWK "
          f"{f(jo['statistics']['quadratic_weighted_kappa'])}, this rater QWK {f(ro['statistics']['quadratic_weighted_kappa'])}")
t = c["alt_test"]
test = c["alt_test_note"] if t is None else f"winning rate {t['winning_rate']:.2f} (epsilon {t['epsilon']:g})"
print(f"  alternative annotator test: {test}")
print(f"  decided by: {c['rule']} ({c['verdict']})")
PY
exit "$status"
