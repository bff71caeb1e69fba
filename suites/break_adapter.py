"""Write a deliberately broken copy of a candidate: its LoRA B matrices zeroed, so it changes nothing.

    python suites/break_adapter.py CANDIDATE OUT

The demo gates it to show a bad candidate rejected with a reason a human understands.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from safetensors.torch import load_file, save_file


def main() -> None:
    source, out = Path(sys.argv[1]), Path(sys.argv[2])
    if out.exists():
        shutil.rmtree(out)
    shutil.copytree(source, out, ignore=shutil.ignore_patterns("decision.json", "decisions"))
    weights = load_file(out / "adapter_model.safetensors")
    save_file({k: v.zero_() if "lora_B" in k else v for k, v in weights.items()}, out / "adapter_model.safetensors")
    print(out)


if __name__ == "__main__":
    main()
