"""``harness ask``: spot-check a model (optionally with an adapter) on a few examples.

Prints each example's input, the expected output and what the model said. A quick look,
not an evaluation: ``harness eval`` and the gate measure.
"""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("ask", help="show a model answering a few examples", description=__doc__)
    parser.add_argument("data", help="chat JSONL; each example's final assistant turn is the expected answer")
    parser.add_argument("--model", default="smollm2-135m-instruct", help="base model (default: the embedded one)")
    parser.add_argument("--adapter", help="a candidate adapter folder to apply")
    parser.add_argument("--limit", type=int, default=3, help="number of examples (default 3)")
    parser.add_argument("--max-new-tokens", type=int, default=48, help="generation cap (default 48)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from harness.data import load_examples
    from harness.generate import generate_greedy
    from harness.models import load_model

    examples = load_examples(args.data)[: args.limit]
    loaded = load_model(args.model)
    model = loaded.model
    if args.adapter:
        from harness.adapters import load_adapter

        model = load_adapter(model, args.adapter)
    answers = generate_greedy(model, loaded.tokenizer, [e.prompt_messages for e in examples],
                              max_new_tokens=args.max_new_tokens)
    label = f"{args.model}" + (f" + {args.adapter}" if args.adapter else "")
    for example, answer in zip(examples, answers, strict=True):
        print(f"--- {example.path}:{example.line}")
        print(f"input:    {example.prompt_messages[-1]['content'][:200]}")
        print(f"expected: {example.output}")
        print(f"got:      {answer}   [{label}]")
    return 0
