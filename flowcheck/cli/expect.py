"""flowcheck expect: a model's expected findings (the cases it does not pass), from a run."""
from __future__ import annotations

from pathlib import Path

from .args import EXIT_OK, command

EXAMPLES = ["flowcheck expect reports/llava7b --out flowcheck-expectations/llava-1.5-7b-hf.yaml",
            "flowcheck expect reports/reference/natural --out tests/claims/expectations/reference.yaml"]


def add_parser(sub) -> None:
    p = command(sub, "expect", "write a model's expectations file (its known findings) from a run",
                EXAMPLES)
    p.add_argument("run_dir", type=Path, help="a run folder (flowcheck run --out)")
    p.add_argument("--out", type=Path, default=None,
                   help="expectations file (default: flowcheck-expectations/<model>.yaml)")
    p.set_defaults(func=cmd)


def cmd(args) -> int:
    from ..testing.expectations import check_run_dir, from_run, path_for, write
    data = from_run(check_run_dir(args.run_dir))
    out = args.out or path_for(Path("flowcheck-expectations"), data["model"])
    write(data, out)
    print(f"wrote {out}: {len(data['expected'])} expected findings of {data['model']} "
          f"(strict: a case that starts to hold is reported)")
    return EXIT_OK
