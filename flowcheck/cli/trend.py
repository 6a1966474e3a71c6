"""flowcheck trend: how each claim's statistics move across a series of runs (no model)."""
from __future__ import annotations

import json
from pathlib import Path

from .args import EXIT_OK, command
from .matrix import labelled_runs

EXAMPLES = ["flowcheck trend step-1000=runs/s1000 step-2000=runs/s2000 step-3000=runs/s3000 --out trend",
            "flowcheck trend fp32=runs/fp32 int8=runs/int8 int4=runs/int4 --out reports/quantised"]


def add_parser(sub) -> None:
    p = command(sub, "trend", "each claim's statistic across a series of runs, with intervals and "
                "thresholds (no model)", EXAMPLES)
    p.add_argument("runs", nargs="+", metavar="LABEL=RUN_DIR",
                   help="a label and a run folder written by `flowcheck run`, in series order")
    p.add_argument("--out", type=Path, required=True,
                   help="folder for trend.html, trend.json, accuracy.png and trend_<claim>.png")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd)


def cmd(args) -> int:
    from ..analysis.trend import TREND_HTML, format_trend, write_trend
    trend = write_trend(labelled_runs(args.runs), args.out)
    print(json.dumps(trend, sort_keys=True) if args.json else format_trend(trend))
    print(f"page: {args.out / TREND_HTML}")
    return EXIT_OK
