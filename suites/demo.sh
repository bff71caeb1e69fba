#!/usr/bin/env bash
# The main job on the embedded default model: the seed's loop.
#   lint the curated data -> split it stably -> prove no leakage -> look at the base model
#   -> train one small LoRA candidate per task -> compare prompt-only / RAG / fine-tuned on
#   fresh facts -> `pytest suites/` as the deploy gate -> promote what was accepted
#   -> show a deliberately broken candidate rejected.
set -euo pipefail
cd "$(dirname "$0")/.."
triage=suites/triage
style=suites/house_style
started=$SECONDS

step() { printf '\n== %s (%d s)\n' "$*" $((SECONDS - started)); }

step "1. lint the curated data (format, schema, duplicates, fresh facts, token lengths)"
harness lint "$triage/data/triage.jsonl" --schema "$triage/schema.json"
harness lint "$style/data/replies.jsonl"

step "2. split: assignment depends only on each example's input and the seed"
harness split "$triage/data/triage.jsonl" --eval-split 0.2 --seed 0 --out runs/demo/split --force
cmp runs/demo/split/heldout.jsonl "$triage/data/split/heldout.jsonl" && echo "same held-out set as the committed $triage/data/split"

step "3. no held-out example leaks into training (exact or near duplicates)"
harness lint "$triage/data/split/train.jsonl" --heldout "$triage/data/split/heldout.jsonl" --schema "$triage/schema.json"
harness lint "$style/data/split/train.jsonl" --heldout "$style/data/split/heldout.jsonl"

step "4. the base model, prompt-only, on held-out messages"
harness ask "$triage/data/split/heldout.jsonl" --limit 3
harness ask "$style/data/split/heldout.jsonl" --limit 2 --max-new-tokens 64

step "5. train one small candidate adapter per task (LoRA r=16 on q_proj, v_proj)"
triage_candidate=$(harness train "$triage/lora.yaml")
style_candidate=$(harness train "$style/lora.yaml")
for candidate in "$triage_candidate" "$style_candidate"; do
python - "$candidate" <<'PY'
import json, sys
manifest = json.load(open(f"{sys.argv[1]}/manifest.json"))
stats = manifest["stats"]
curve = ", ".join(f"epoch {e['epoch']}: train {e['train_loss']} / eval {e['eval_loss']}" for e in manifest["epochs"])
print(f"{sys.argv[1]}: {curve}; best epoch {manifest['best_epoch']}; "
      f"{stats['trained_tokens']} tokens at {stats['tokens_per_second']} tokens/s in {stats['wall_seconds']} s")
PY
done

step "6. the candidates on the same held-out messages (a look, not a verdict)"
harness ask "$triage/data/split/heldout.jsonl" --adapter "$triage_candidate" --limit 3
harness ask "$style/data/split/heldout.jsonl" --adapter "$style_candidate" --limit 2 --max-new-tokens 64

step "7. fresh facts are for retrieval: prompt-only vs RAG vs the fine-tune"
harness eval --config suites/facts/harness.yaml --adapter "fine-tuned=$triage_candidate"

step "8. the deploy gate: pytest suites/"
set +e
pytest suites/ -p no:cacheprovider -q --candidate "triage=$triage_candidate" --candidate "house_style=$style_candidate"
suites_status=$?
set -e
echo "pytest suites/ exit code: $suites_status (0: every gate check passed)"

step "9. promote what the gate accepted; print the reasons for the rest"
for candidate in "$triage_candidate" "$style_candidate"; do
  if harness registry promote "$candidate" 2>/dev/null; then
    echo "promoted $candidate"
  else
    echo "not promoted: $candidate"
    harness registry show "$(basename "$candidate")" | sed -n '/^check/,$p'
  fi
done

step "10. a deliberately broken candidate (LoRA B zeroed: it changes nothing) must be rejected"
broken=$(python suites/break_adapter.py "$triage_candidate" "${triage_candidate}-broken")
set +e
harness gate "$broken" --config "$triage/harness.yaml"
broken_status=$?
set -e
echo "gate exit code: $broken_status"
[ "$broken_status" -eq 1 ] || { echo "the broken candidate was not rejected"; exit 1; }

step "11. the registry"
harness registry list

printf '\nmain job done in %d s\n' $((SECONDS - started))
