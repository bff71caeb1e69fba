#!/usr/bin/env bash
# The main job on the embedded default model: the seed's whole loop.
#   lint and split the curated data -> look at the base model -> prompt-only and RAG
#   -> train candidates (with self-distillation replay) -> the ladder decides each task's
#   deployment, `pytest suites/` is the deploy gate -> promote what was accepted -> a broken
#   candidate rejected -> the LLM judge against human labels (and the refusal to trust it)
#   -> a simulated week of production logs through monitor and harvest -> the nightly report.
# Every step prints what it showed; the table at the end says where the time went.
set -euo pipefail
cd "$(dirname "$0")/.."
triage=suites/triage
style=suites/house_style
out=runs/demo
mkdir -p "$out"
started=$SECONDS
step_names=()
step_seconds=()
step_started=$SECONDS
steps_log="$out/steps.tsv"  # <unix time>\t<step>: bench/steps.py finds each step's model work in its window
: > "$steps_log"

step() {
  if [ ${#step_names[@]} -gt 0 ]; then step_seconds+=($((SECONDS - step_started))); fi
  step_names+=("$*")
  step_started=$SECONDS
  printf '%s\t%s\n' "$(date +%s.%N)" "$*" >> "$steps_log"
  printf '\n== %s (%d s)\n' "$*" $((SECONDS - started))
}

step "1. lint the curated data (format, schema, duplicates, fresh facts, token lengths)"
harness lint "$triage/data/triage.jsonl" --schema "$triage/schema.json"
harness lint "$style/data/replies.jsonl"

step "2. split: assignment depends only on each example's input and the seed; no held-out leaks"
harness split "$triage/data/triage.jsonl" --eval-split 0.2 --seed 0 --out "$out/split" --force
cmp "$out/split/heldout.jsonl" "$triage/data/split/heldout.jsonl" && echo "same held-out set as the committed $triage/data/split"
harness lint "$triage/data/split/train.jsonl" --heldout "$triage/data/split/heldout.jsonl" --schema "$triage/schema.json"
harness lint "$style/data/split/train.jsonl" --heldout "$style/data/split/heldout.jsonl"

step "3. the base model, prompt-only, on held-out messages (a look, not a verdict)"
harness ask "$triage/data/split/heldout.jsonl" --limit 2
harness ask "$style/data/split/heldout.jsonl" --limit 1 --max-new-tokens 64

step "4. prompt first, then RAG: both on every held-out case (cached for every later step)"
harness eval --config "$triage/harness.yaml" --variant prompt-only --variant rag
harness eval --config "$style/harness.yaml" --variant prompt-only
harness eval --config suites/facts/harness.yaml --variant prompt-only --variant rag

step "5. fine-tune last: one LoRA candidate per task, with self-distillation replay against forgetting"
triage_candidate=$(harness train "$triage/lora.yaml")
style_candidate=$(harness train "$style/lora.yaml")
for candidate in "$triage_candidate" "$style_candidate"; do
python - "$candidate" <<'PY'
import json, sys
import yaml
manifest = json.load(open(f"{sys.argv[1]}/manifest.json"))
config = yaml.safe_load(open(f"{sys.argv[1]}/config.yaml"))
t, lora, rp = config["training"], config["lora"], config.get("replay") or {}
print(f"{sys.argv[1]}: LoRA r={lora['r']} on {', '.join(lora['target_modules'])}, lr {t['learning_rate']}, {t['epochs']} epochs"
      + (f"; replay share {rp['share']}, loss {rp.get('loss', 'text')}" + (f" (kl_weight {rp['kl_weight']})" if rp.get('loss') == 'kl' else "")
         if rp.get("prompts") or rp.get("dataset") else "; no replay"))
stats, replay = manifest["stats"], ((manifest.get("data") or {}).get("replay") or {}).get("self_distillation") or {}
curve = ", ".join(f"epoch {e['epoch']}: eval {e['eval_loss']}" for e in manifest["epochs"])
print(f"{sys.argv[1]}: {curve}; best epoch {manifest['best_epoch']}; {stats['trained_tokens']} tokens at "
      f"{stats['tokens_per_second']} tokens/s ({stats.get('precision', 'fp32')}) in {stats['wall_seconds']} s; replay examples: {replay.get('examples', 0)} "
      f"(base-model replies to {replay.get('chosen', 0)} general prompts, {replay.get('dropped', 0)} cut at the token limit dropped)")
PY
done

step "6. the ladder per task: deploy the cheapest rung that no costlier rung demonstrably beats"
set +e
harness decide --config "$triage/harness.yaml" --candidate "$triage_candidate" --promote; triage_status=$?
harness decide --config "$style/harness.yaml" --candidate "$style_candidate" --promote; style_status=$?
harness decide --config suites/facts/harness.yaml --promote; facts_status=$?
set -e
echo "harness decide exit codes: triage $triage_status, house_style $style_status, facts $facts_status (0: a deployment)"

step "7. the deploy gate: pytest suites/ on what was deployed, then on a candidate the ladder rejected"
set +e
pytest suites/ -p no:cacheprovider -q
suites_status=$?
set -e
echo "pytest suites/ on the deployments: exit $suites_status (0: every deployment passes its gate)"
for candidate in "$triage_candidate" "$style_candidate"; do
  task=$(python -c "import json,sys; print(json.load(open(sys.argv[1]))['task'])" "$candidate/manifest.json")
  chosen=$(python - "$task" <<'PY'
import glob, json, sys
decisions = sorted(glob.glob(f"candidates/decisions/{sys.argv[1]}/ladder/*.json"))
print(json.load(open(decisions[-1]))["chosen_kind"] if decisions else "none")
PY
)
  [ "$chosen" = "adapter" ] && continue
  set +e
  pytest "suites/$task" -p no:cacheprovider -q --candidate "$task=$candidate" > "$out/suites-rejected-$task.txt" 2>&1
  rejected_status=$?
  set -e
  grep -E "^(FAILED|[0-9]+ (passed|failed))" "$out/suites-rejected-$task.txt" | tail -n 4
  echo "pytest suites/$task --candidate $task=$candidate (the ladder deployed $chosen instead): exit $rejected_status (1 expected)"
done

step "8. a deliberately broken candidate (LoRA B zeroed: it changes nothing) is rejected"
broken=$(python suites/break_adapter.py "$triage_candidate" "${triage_candidate}-broken")
set +e
harness gate "$broken" --config "$triage/harness.yaml" | tail -n 4
broken_status=${PIPESTATUS[0]}
set -e
echo "gate exit code: $broken_status"
[ "$broken_status" -eq 1 ] || { echo "the broken candidate was not rejected"; exit 1; }
harness registry list

step "9. the LLM judge (SmolLM2-135M) against 150 human-labelled replies: may its scores count?"
set +e
OUT="$out/judge" PYTHON=python bash "$style/judge/calibrate_demo.sh"
judge_status=$?
set -e
python - "$style/judge/rubric.yaml" "$out/judge/calibrations" <<'PY'
import sys
from harness.gate.checks import judge_check, judge_metric_checks
from harness.config.gate import GateRules, JudgeSection
rules = GateRules(candidate="fine-tuned", baselines=("prompt-only",), judge_metrics=("judge:house_style",),
                  judge=JudgeSection(rubric=sys.argv[1], store=sys.argv[2]))
check = judge_check(rules)
print(f"the gate on a judge metric: {check.name}: {check.verdict.upper()}: {check.explanation}")
# the paired comparison the gate would make on its run: only through a PPI interval, and only after calibration
# passes (it judges its run's outputs then; README: "Judge-scored comparisons"); a failed calibration stops it here
for ppi in judge_metric_checks(rules, None):
    print(f"the gate's comparison: {ppi.name}: {ppi.verdict.upper()}: {ppi.explanation}")
PY
echo "harness calibrate exit code: $judge_status (0: the judge's scores may count, 1: they may not)"

step "10. a simulated week of production: drift, output health, and a harvest queue for people"
bash suites/monitor/demo.sh

step "11. the nightly report: history of every run and decision above"
harness report --out "$out/report"
echo "report: $(pwd)/$out/report/index.html ($(du -k "$out/report/index.html" | cut -f1) KiB) and $out/report/report.md"

step "12. the first hour of a new team on data it brings (suites/returns): init -> baselines -> train -> decide -> pytest"
set +e
bash suites/returns/first_hour.sh "$out/returns"  # its own project folder: the repository's suites/ are not touched
returns_status=$?
set -e
echo "first hour on suites/returns: exit $returns_status (the table above gives each step's exit code and time)"

step_seconds+=($((SECONDS - step_started)))
printf '%s\tend\n' "$(date +%s.%N)" >> "$steps_log"
echo
# the machine line, then each step's seconds, its model work, and its ratio to this machine's floor (bench/floor.py)
if ! python bench/steps.py "$steps_log" --candidates candidates --candidates "$out"; then
  printf '\n| step | seconds |\n|---|---|\n'
  for i in "${!step_names[@]}"; do printf '| %s | %d |\n' "${step_names[$i]%%:*}" "${step_seconds[$i]}"; done
fi
printf '\nmain job done in %d s; the report: %s\n' $((SECONDS - started)) "$(pwd)/$out/report/index.html"
