"""flowcheck data: datasets (today: render a seeded synthetic GQA-style split)."""
from __future__ import annotations

from pathlib import Path

from .args import EXIT_OK, command, int_arg, tasks_arg

EXAMPLES = ["flowcheck data generate --seed 7 --per-task 50 --out data/synthetic-seed7"]


def add_parser(sub) -> None:
    data = command(sub, "data", "synthetic GQA-style data", EXAMPLES).add_subparsers(
        dest="action", metavar="ACTION", required=True)
    gen = data.add_parser("generate", help="render a seeded synthetic split (PNGs + questions.jsonl)")
    gen.add_argument("--seed", type=int_arg("--seed"), required=True)
    gen.add_argument("--per-task", type=int_arg("--per-task"), default=120)
    gen.add_argument("--tasks", type=tasks_arg, default=None, help="comma-separated task types")
    gen.add_argument("--out", type=Path, required=True)
    gen.set_defaults(func=cmd_generate)


def cmd_generate(args) -> int:
    from ..data import dataset
    samples = dataset.generate(args.seed, args.per_task, args.tasks or dataset.TASKS)
    out = dataset.save(samples, args.out)
    print(f"wrote {len(samples)} samples to {out}")
    return EXIT_OK
