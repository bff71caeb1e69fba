#!/usr/bin/env bash
# The monitor demo: a simulated week of triage traffic (Tuesday: schema failures rise;
# Thursday on: a new topic, whiteboards, at 25%), monitored per day, then harvested.
# Everything it writes goes to suites/monitor/generated/ (git-ignored, rebuilt each run).
set -uo pipefail
cd "$(dirname "$0")/../.."
OUT=suites/monitor/generated
python suites/monitor/build_week.py --out "$OUT"
python -m harness monitor "$OUT/logs.jsonl" --reference "$OUT/train.jsonl" --heldout "$OUT/heldout.jsonl" \
    --format json > "$OUT/monitor.json"
echo "harness monitor: exit $? (1 = drift or a health check beyond its threshold)"
python - "$OUT/monitor.json" <<'PY'
import json, sys
report = json.load(open(sys.argv[1]))
print(f"drift: {report['drift']}, malformed lines: {[m['line'] for m in report['lines']['malformed_lines']]}")
for w in report["windows"]:
    checks = {c["name"]: c for c in w["health"] + w["inputs"]}
    top = w["coverage"]["clusters"][0] if w["coverage"]["clusters"] else None
    flags = " ".join(f for f, on in (("DRIFT", w["drift"]), ("HEALTH", w["health_flagged"])) if on) or "ok"
    print(f"{w['label']}: {flags:12} schema failures {checks['schema_failures']['statistic']:.1%}, "
          f"AUC {checks['domain_classifier']['statistic']:.3f}, unseen-word share {checks['unseen_vocabulary']['statistic']:.1%}, "
          f"largest uncovered cluster {top['count'] if top else 0} {list(top['terms'][:3]) if top else ''}")
PY
python -m harness harvest "$OUT/logs.jsonl" --reference "$OUT/train.jsonl" --heldout "$OUT/heldout.jsonl" \
    --out "$OUT/queue.jsonl" --force
python - "$OUT/queue.jsonl" <<'PY'
import json, sys
queue = [json.loads(line) for line in open(sys.argv[1])]
top = queue[:20]
topic = sum("whiteboard" in q["messages"][-2]["content"].lower() for q in top)
failures = sum("schema-failure" in q["metadata"]["harvest"]["reasons"] for q in top)
print(f"top 20 of the queue: {failures} schema failures, {topic} whiteboard messages")
for q in queue[:8]:
    h = q["metadata"]["harvest"]
    print(f"  #{h['rank']} line {h['line']} {h['reason']}: {q['messages'][-2]['content'][:70]}")
PY
