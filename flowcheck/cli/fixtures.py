"""flowcheck fixtures: write architecture-true random-weight copies of real checkpoints (the
paper's four and the smallest checkpoint of every other family) as model folders."""
from __future__ import annotations

from pathlib import Path

from .args import EXIT_OK, command

EXAMPLES = ["flowcheck fixtures --out fixtures-paper/",
            "flowcheck fixtures --out /tmp/fx --checkpoint llava-v1.6-vicuna-7b",
            "flowcheck run --model fixtures-paper/llava-v1.6-vicuna-7b --max-samples 2 --out /tmp/r"]


def add_parser(sub) -> None:
    from ..models.fixtures.checkpoints import CHECKPOINTS
    p = command(sub, "fixtures", "write architecture-true random-weight copies of real checkpoints "
                "(the paper's four and the smallest of every other family; engine checks only)", EXAMPLES)
    p.add_argument("--out", type=Path, required=True, help="folder; one sub-folder per checkpoint")
    p.add_argument("--checkpoint", action="append", default=None,
                   help="one of the checkpoint names (repeatable; default: all): "
                   + ", ".join(CHECKPOINTS))
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=cmd)


def cmd(args) -> int:
    from ..models.fixtures.checkpoints import CHECKPOINTS, write_checkpoint
    names = args.checkpoint or list(CHECKPOINTS)
    for name in names:
        CHECKPOINTS.get_or_raise(name)  # every name checked before anything is written
    for name in names:
        folder = write_checkpoint(name, args.out / name, args.seed)
        shape = CHECKPOINTS[name]
        print(f"{name:<22} -> {folder}  ({shape.architecture}, {shape.text_layers} layers, "
              f"stands for {shape.hf_id}; random weights)")
    return EXIT_OK
