"""flowcheck bench: the exact and the fast knockout engine side by side on one sweep."""
from __future__ import annotations

import json

from .args import ATTENTION, EXIT_OK, add_model, command, int_arg, tasks_arg

EXAMPLES = ["flowcheck bench --model reference --samples-per-task 2 --json",
            "flowcheck bench --layout llava15 --flows image->last,question->last,last->last"]


def add_parser(sub) -> None:
    p = command(sub, "bench", "exact vs fast knockout engine, side by side", EXAMPLES)
    add_model(p)
    p.add_argument("--layout", default=None,
                   help="use a random-weight model with this real layout instead of --model")
    p.add_argument("--samples-per-task", type=int_arg("--samples-per-task"), default=1)
    p.add_argument("--tasks", type=tasks_arg, default=None, help="comma-separated task types")
    p.add_argument("--flows", default=None, help="comma-separated flows (default: all six)")
    p.add_argument("--window", type=int_arg("--window"), default=None, help="window size k")
    p.add_argument("--attn", choices=ATTENTION, default="eager")
    p.add_argument("--threads", type=int_arg("--threads"), default=None)
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    p.set_defaults(func=cmd)


def cmd(args) -> int:
    import torch

    from ..bench import compare_engines
    from ..data import dataset
    from ..knockout.flows import FLOWS, parse_flow
    from ..paths import EVAL_SPLIT
    flows = [parse_flow(f.strip()).name for f in args.flows.split(",")] if args.flows else list(FLOWS)
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.layout:
        from ..models.layouts import build_layout_handle
        handle = build_layout_handle(args.layout, attn_implementation=args.attn)
    else:
        from ..models.handle import load_handle
        handle = load_handle(args.model, attn_implementation=args.attn)
    samples = dataset.load(EVAL_SPLIT, tasks=args.tasks, max_per_task=args.samples_per_task)
    result = compare_engines(handle, samples, flows, args.window)
    if args.json:
        print(json.dumps(result, sort_keys=True))
    else:
        for key, value in result.items():
            print(f"{key:>22}: {value}")
    return EXIT_OK
