"""flowcheck sensitivity: verdicts and margins vs samples per task and window size k,
re-judged from run folders (no model)."""
from __future__ import annotations

from pathlib import Path

from .args import add_table_options, command, print_table

EXAMPLES = ["flowcheck sensitivity reports/mine --n 10,30,100",
            "flowcheck sensitivity runs/k3 runs/k5 --claims question_to_last_middle --out sens.md"]


def add_parser(sub) -> None:
    p = command(sub, "sensitivity", "verdicts and margins vs samples per task and k, re-judged "
                "from run folders (no model)", EXAMPLES)
    p.add_argument("runs", nargs="+", type=Path, metavar="RUN_DIR",
                   help="run folders of `flowcheck run` (one model and one --window each)")
    add_table_options(p, "to judge on")
    p.set_defaults(func=cmd)


def cmd(args) -> int:
    from ..analysis.sensitivity import render_sensitivity, sensitivity
    from ..claims.spec import MAIN_CLAIMS
    rows = sensitivity(args.runs, args.claims or MAIN_CLAIMS, args.n)
    return print_table(args, rows, render_sensitivity(rows))
