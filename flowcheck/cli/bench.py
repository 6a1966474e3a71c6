"""flowcheck bench: the exact and the fast knockout engine side by side on one sweep."""
from __future__ import annotations

import json

from ..errors import UsageError
from .args import ATTENTION, EXIT_OK, add_model, command, int_arg, model_with_revision, tasks_arg


def size_arg(text: str) -> tuple[int, int]:
    """'500x375' -> (500, 375)."""
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise UsageError(f"--image-size must be WIDTHxHEIGHT, e.g. 500x375; got {text!r}") from None
    if w < 64 or h < 64:
        raise UsageError(f"--image-size must be at least 64x64 (the images are 64x64); got {text!r}")
    return w, h

EXAMPLES = ["flowcheck bench --model reference --samples-per-task 2 --json",
            "flowcheck bench --layout llava15 --flows image->last,question->last,last->last",
            "flowcheck bench --layout llava-next --image-size 500x375 --window 9"]


def add_parser(sub) -> None:
    p = command(sub, "bench", "exact vs fast knockout engine, side by side", EXAMPLES)
    add_model(p)
    p.add_argument("--layout", default=None,
                   help="use a random-weight model with this real layout instead of --model: llava15, "
                        "llava-next, or a checkpoint fixture's name (llava-1.5-7b, ...)")
    p.add_argument("--real-width", action="store_true",
                   help="with a checkpoint fixture's --layout: the real checkpoint's widths (a GPU job)")
    p.add_argument("--device", default="cpu", help="torch device, e.g. cuda (timed with synchronisation)")
    p.add_argument("--dtype", default="float32", choices=["float32", "float16", "bfloat16"])
    p.add_argument("--samples-per-task", type=int_arg("--samples-per-task"), default=1)
    p.add_argument("--tasks", type=tasks_arg, default=None, help="comma-separated task types")
    p.add_argument("--flows", default=None,
                   help="comma-separated flows (default: the six every family has)")
    p.add_argument("--image-size", type=size_arg, default=None, metavar="WxH",
                   help="paste each image onto a canvas of this size (e.g. 500x375: a LLaVA-NeXT "
                        "image of 2,340 tokens)")
    p.add_argument("--window", type=int_arg("--window"), default=None, help="window size k")
    p.add_argument("--attn", choices=ATTENTION, default="eager")
    p.add_argument("--threads", type=int_arg("--threads"), default=None)
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    p.set_defaults(func=cmd)


def cmd(args) -> int:
    import torch

    from ..data import dataset
    from ..data.dataset import place_on_canvas
    from ..measure.bench import compare_engines
    from ..measure.flows import CORE_FLOWS, parse_flow
    from ..paths import EVAL_SPLIT
    args.model = model_with_revision(args)
    flows = [parse_flow(f.strip()).name for f in args.flows.split(",")] if args.flows else list(CORE_FLOWS)
    if args.threads:
        torch.set_num_threads(args.threads)
    from ..models.loading import check_device
    check_device(args.device)
    if args.layout:
        from ..models.fixtures.bench_layouts import build_layout_handle
        handle = build_layout_handle(args.layout, attn_implementation=args.attn, device=args.device,
                                     dtype=args.dtype, real_width=args.real_width)
    else:
        from ..models.handle import load_handle
        handle = load_handle(args.model, attn_implementation=args.attn, device=args.device,
                             dtype=args.dtype)
    samples = dataset.load(EVAL_SPLIT, tasks=args.tasks, max_per_task=args.samples_per_task)
    if args.image_size:
        samples = [place_on_canvas(s, *args.image_size) for s in samples]
    result = compare_engines(handle, samples, flows, args.window)
    if args.json:
        print(json.dumps(result, sort_keys=True))
    else:
        for key, value in result.items():
            print(f"{key:>22}: {value}")
    return EXIT_OK
