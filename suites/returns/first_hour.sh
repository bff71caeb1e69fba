#!/usr/bin/env bash
# The first hour of a new team on the returns data, as `harness init` prints it, each step timed:
# lint -> init -> lint the split -> eval (the baselines, before any training) -> train -> decide --promote
# -> pytest suites/returns -> the nightly (a fresh eval and the report; NIGHTLY=0 skips it).
# It runs in a folder of its own (a project outside this repository). Each step prints its start time
# and the load average, so a transcript says how busy the machine was.
#
#   bash suites/returns/first_hour.sh [OUT]          # default OUT: runs/first-hour-returns
#   MODEL=path/to/checkpoint bash suites/returns/first_hour.sh /tmp/x   # another base model (default: the embedded one)
set -uo pipefail
unset HARNESS_HISTORY   # a new team's environment: every run is recorded in .harness/history.sqlite, which the nightly report reads
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-runs/first-hour-returns}
model=${MODEL:-smollm2-135m-instruct}
rm -rf "$out" && mkdir -p "$out" && cp "$here/data/returns.jsonl" "$here/schema.json" "$out/" && cd "$out" || exit 2
model=$( [ -e "$model" ] && realpath "$model" || echo "$model" )
timings=()

step() {  # step NAME COMMAND...: print the command, run it, print its exit code and wall time
    local name=$1 start=$SECONDS rc
    shift
    echo "# $(date -u '+%Y-%m-%d %H:%M:%S UTC'), load average: $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "\$ $*"
    "$@"
    rc=$?
    echo "[$name: exit $rc, $((SECONDS - start)) s]"
    timings+=("$name $rc $((SECONDS - start))")
    return $rc
}

step lint harness lint returns.jsonl --schema schema.json --model "$model"
step init harness init --data returns.jsonl --schema schema.json --task returns --eval-split 0.25 --model "$model" || exit 1
step lint-split harness lint suites/returns/data/train.jsonl --schema schema.json \
    --heldout suites/returns/data/heldout.jsonl --model "$model"
step eval harness eval --config suites/returns/harness.yaml || exit 1
step train harness train suites/returns/lora.yaml || exit 1
step decide harness decide --config suites/returns/harness.yaml --promote
step pytest python -m pytest suites/returns -q -p no:cacheprovider -rs
if [ "${NIGHTLY:-1}" != 0 ]; then
    step nightly-eval harness eval --config suites/returns/harness.yaml
    step nightly-report harness report --out report --fail-on-regression
fi
echo
echo "step        exit  seconds"
for row in "${timings[@]}"; do
    read -r name rc seconds <<< "$row"
    printf '%-11s %4s %8s\n' "$name" "$rc" "$seconds"
done
