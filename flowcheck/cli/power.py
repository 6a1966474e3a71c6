"""flowcheck power: at what effect size each claim's verdict turns from fails through
uncertain to holds, per samples per task, from two stored runs (no model, no training)."""
from __future__ import annotations

from pathlib import Path

from .args import add_table_options, command, positive_int, print_table

EXAMPLES = ["flowcheck power reports/reference/paper-route reports/reference/natural",
            "flowcheck power EFFECT_RUN NOISE_RUN --n 10,30 --claims question_to_last_middle"]


def add_parser(sub) -> None:
    p = command(sub, "power", "effect size at which each claim's verdict turns from fails through "
                "uncertain to holds, per n (re-judged from two run folders; no model)", EXAMPLES)
    p.add_argument("effect_run", type=Path, metavar="EFFECT_RUN",
                   help="a run whose per-sample curves carry the effect (e.g. the paper-route control)")
    p.add_argument("noise_run", type=Path, metavar="NOISE_RUN",
                   help="a run of the same dataset whose per-sample spread is mixed in (e.g. natural)")
    add_table_options(p, "to draw")
    p.add_argument("--draws", type=positive_int, default=5,
                   help="random draws of samples per n (median; default 5)")
    p.set_defaults(func=cmd)


def cmd(args) -> int:
    import sys

    from ..analysis.power import power_table, render_power
    from ..claims.spec import MAIN_CLAIMS
    rows = power_table(args.effect_run, args.noise_run, args.claims or MAIN_CLAIMS, args.n,
                       args.draws, progress=lambda c, n: print(f"  {c} n={n}", file=sys.stderr))
    return print_table(args, rows, render_power(rows))
