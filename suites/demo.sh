#!/usr/bin/env bash
# The main job on the embedded default model: the seed's loop.
#   lint the curated data -> split it stably -> prove no leakage -> look at the base model
#   -> train a LoRA candidate -> compare prompt-only / RAG / fine-tuned on fresh facts
#   -> gate the candidate against the baselines (promote on accept) -> reject a broken one.
set -euo pipefail
cd "$(dirname "$0")/.."
data=suites/triage/data
schema=suites/triage/schema.json
started=$SECONDS

step() { printf '\n== %s\n' "$*"; }

step "1. lint the curated triage data (format, schema, duplicates, fresh facts, token lengths)"
harness lint "$data/triage.jsonl" --schema "$schema"

step "2. split it: assignment depends only on each example's input and the seed"
harness split "$data/triage.jsonl" --eval-split 0.2 --seed 0 --out runs/demo/split --force
cmp runs/demo/split/heldout.jsonl "$data/split/heldout.jsonl" && echo "same held-out set as the committed suites/triage/data/split"

step "3. no held-out example leaks into training (exact or near duplicates)"
harness lint "$data/split/train.jsonl" --heldout "$data/split/heldout.jsonl" --schema "$schema"

step "4. the base model, prompt-only, on held-out messages"
harness ask "$data/split/heldout.jsonl" --limit 4

step "5. train the candidate adapter (LoRA r=16 on q_proj, v_proj)"
candidate=$(harness train suites/triage/lora.yaml)
echo "candidate: $candidate"
python - "$candidate" <<'PY'
import json, sys
manifest = json.load(open(f"{sys.argv[1]}/manifest.json"))
for epoch in manifest["epochs"]:
    print(f"epoch {epoch['epoch']}: train loss {epoch['train_loss']}, eval loss {epoch['eval_loss']}")
stats = manifest["stats"]
print(f"best epoch {manifest['best_epoch']}; {stats['trained_tokens']} tokens at {stats['tokens_per_second']} tokens/s; "
      f"{stats['wall_seconds']} s")
PY

step "6. the candidate on the same held-out messages (a look, not a verdict)"
harness ask "$data/split/heldout.jsonl" --adapter "$candidate" --limit 4

step "7. facts are for retrieval: prompt-only vs RAG vs the fine-tune on fresh product facts"
harness eval --config suites/facts/harness.yaml --adapter "fine-tuned=$candidate"

step "8. the gate: the candidate against prompt-only and RAG on the held-out set (promoted only if accepted)"
set +e
harness gate "$candidate" --config suites/triage/harness.yaml --promote
gate_status=$?
set -e
echo "gate exit code: $gate_status (0 accepted, 1 not accepted)"

step "9. a deliberately broken candidate (LoRA B zeroed: it changes nothing) must be rejected"
broken=$(python suites/break_adapter.py "$candidate" "${candidate}-broken")
set +e
harness gate "$broken" --config suites/triage/harness.yaml
broken_status=$?
set -e
echo "gate exit code: $broken_status"
[ "$broken_status" -eq 1 ] || { echo "the broken candidate was not rejected"; exit 1; }

step "10. the registry"
harness registry list

printf '\nmain job done in %d s\n' $((SECONDS - started))
