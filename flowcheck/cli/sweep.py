"""flowcheck sweep: every flow x window centre and the logit lens of a model, summarised per
task (curves only, no claims)."""
from __future__ import annotations

import json
from pathlib import Path

from ..measure.configs import ENGINES
from ..measure.lens import LENS_VARIANTS
from .args import (
    ATTENTION,
    EXIT_OK,
    add_dataset,
    add_device,
    add_model,
    command,
    int_arg,
    model_with_revision,
)

EXAMPLES = ["flowcheck sweep --model reference --samples-per-task 20",
            "flowcheck sweep --model llava-hf/llava-1.5-7b-hf --samples-per-task 50 --device cuda "
            "--dtype float16 --attn eager --out reports/llava7b-sweep"]


def add_parser(sub) -> None:
    p = command(sub, "sweep", "knockout + logit-lens sweep of a model, summarised per task", EXAMPLES)
    add_model(p)
    add_dataset(p)
    p.add_argument("--samples-per-task", type=int_arg("--samples-per-task"), default=20)
    p.add_argument("--window", type=int_arg("--window"), default=None, help="window size k")
    p.add_argument("--engine", choices=list(ENGINES), default="fast")
    p.add_argument("--lens", choices=list(LENS_VARIANTS), default="raw")
    add_device(p)
    p.add_argument("--attn", choices=ATTENTION, default="eager")
    p.add_argument("--out", type=Path, default=Path("reports/sweep"))
    p.add_argument("--json", action="store_true", help="print the summary JSON on stdout")
    p.set_defaults(func=cmd)


def cmd(args) -> int:
    from ..data.dataset import select_samples
    from ..models.handle import load_handle
    from ..runs.settings import RunSettings
    from ..runs.sweep import format_summary, run_sweep, write_sweep
    settings = RunSettings.create(
        {"max_samples": "--samples-per-task", "out": "--out", "window": "--window"},
        model=model_with_revision(args), dataset=args.dataset, tasks=args.tasks,
        max_samples=args.samples_per_task, window=args.window, engine=args.engine, device=args.device,
        dtype=args.dtype, attn=args.attn, out=args.out)
    samples = select_samples(settings.dataset, settings.tasks, settings.max_samples)
    handle = load_handle(settings.model, device=settings.device, dtype=settings.dtype,
                         attn_implementation=settings.attn)
    summary = run_sweep(handle, samples, settings, lens_variant=args.lens)
    path = write_sweep(summary, args.out)
    if args.json:
        print(json.dumps(summary, sort_keys=True))
    else:
        print(format_summary(summary))
        print(f"wrote {path}")
    return EXIT_OK
