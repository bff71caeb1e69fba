"""Write ``base_replies.jsonl`` from a ``harness eval`` run of ``base_replies.harness.yaml``.

    harness eval --config suites/house_style/tone/base_replies.harness.yaml --runs-dir runs/base-replies
    python suites/house_style/tone/write_base_replies.py runs/base-replies/<run_id>

One chat line per training case, in the training file's order: the case's messages and the base
model's reply as the final assistant turn. Refuses (exit 2) when any case has no reply or an error:
the contrast set is the base model's reply to every training prompt, not to whichever finished.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from harness.fileio import atomic_write_text

HERE = Path(__file__).resolve().parent
TRAIN = HERE.parent / "data" / "split" / "train.jsonl"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path, help="the eval run folder (holds results.jsonl)")
    parser.add_argument("--out", type=Path, default=HERE / "base_replies.jsonl")
    args = parser.parse_args(argv)
    results = args.run / "results.jsonl"
    if not results.is_file():
        print(f"{results}:0: no results.jsonl; give the run folder harness eval wrote", file=sys.stderr)
        return 2
    expected = sum(1 for line in TRAIN.read_text(encoding="utf-8").splitlines() if line.strip())
    lines: dict[int, str] = {}
    for number, line in enumerate(results.read_text(encoding="utf-8").splitlines(), start=1):
        result = json.loads(line)
        generation = result["generation"]
        if generation.get("error") or not (generation.get("text") or "").strip():
            print(f"{results}:{number}: case {result['case']['id']} has no reply ({generation.get('error')}); "
                  "rerun the eval", file=sys.stderr)
            return 2
        source = str(result["case"]["metadata"]["source"])
        messages = [*result["case"]["messages"], {"role": "assistant", "content": generation["text"]}]
        lines[int(source.rsplit(":", 1)[1])] = json.dumps({"messages": messages}, ensure_ascii=False)
    if sorted(lines) != list(range(1, expected + 1)):
        print(f"{results}:0: {len(lines)} replies for {expected} training cases; rerun the eval without --limit",
              file=sys.stderr)
        return 2
    atomic_write_text(args.out, "".join(lines[n] + "\n" for n in sorted(lines)))
    print(f"{args.out}: {len(lines)} base replies")
    return 0


if __name__ == "__main__":
    sys.exit(main())
