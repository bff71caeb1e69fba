"""``harness ask``: spot-check a model (optionally with an adapter) on a few examples.

Prints each example's input, the expected output and what the model said. A quick look,
not an evaluation: ``harness eval`` and the gate measure.
"""

from __future__ import annotations

import argparse

from harness.models.catalogue import DEFAULT_MODEL


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("ask", help="show a model answering a few examples", description=__doc__)
    parser.add_argument("data", help="chat JSONL; each example's final assistant turn is the expected answer")
    parser.add_argument("--model", default=DEFAULT_MODEL, help="base model (default: the embedded one)")
    parser.add_argument("--adapter", help="a candidate adapter folder to apply")
    parser.add_argument("--limit", type=int, default=3, help="number of examples (default 3)")
    parser.add_argument("--max-new-tokens", type=int, default=48, help="generation cap (default 48)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from harness.data import load_examples
    from harness.errors import InputError
    from harness.eval.backends.local import LocalBackend
    from harness.records import Decoding, GenerationRequest

    if args.limit < 1 or args.max_new_tokens < 1:
        raise InputError("--limit and --max-new-tokens must be positive integers", code="bad-option")
    examples = load_examples(args.data)[: args.limit]
    if not examples:
        raise InputError("no examples in this file; give a chat JSONL with one {\"messages\": [...]} per line",
                         path=args.data, code="no-examples")
    backend = LocalBackend(args.model)
    if args.adapter:
        backend.add_adapter("candidate", args.adapter)
    requests = [GenerationRequest(f"{e.path}:{e.line}", "ask", e.prompt_messages, "candidate" if args.adapter else None)
                for e in examples]
    generations = backend.generate(requests, Decoding(max_new_tokens=args.max_new_tokens))
    label = f"{args.model}" + (f" + {args.adapter}" if args.adapter else "")
    for example, generation in zip(examples, generations, strict=True):
        print(f"--- {example.path}:{example.line}")
        print(f"input:    {example.prompt_messages[-1]['content'][:200]}")
        print(f"expected: {example.output}")
        print(f"got:      {generation.text if generation.error is None else 'ERROR ' + generation.error}   [{label}]")
    return 0
