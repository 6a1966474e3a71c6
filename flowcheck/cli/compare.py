"""flowcheck compare: verdict flips and moved curves between two runs, or (--noise) the
largest difference of every stored number between two runs that should agree."""
from __future__ import annotations

import json
from pathlib import Path

from .args import EXIT_FAIL, EXIT_OK, command

EXAMPLES = ["flowcheck compare reports/base reports/finetuned --html compare.html --markdown compare.md",
            "flowcheck compare --noise reports/ref reports/ref-1thread"]


def add_parser(sub) -> None:
    p = command(sub, "compare", "verdict flips and curve changes between two runs", EXAMPLES)
    p.add_argument("run_a", type=Path)
    p.add_argument("run_b", type=Path)
    p.add_argument("--tolerance", type=float, default=5.0,
                   help="report curve changes above this many percentage points")
    p.add_argument("--noise", action="store_true",
                   help="runs that should agree (other threads, kernel, engine or machine): "
                        "the largest difference of every stored and verdict number")
    p.add_argument("--html", type=Path, default=None,
                   help="also write an HTML page: the claims x tasks grid, both runs' curves overlaid, "
                        "the changes listed")
    p.add_argument("--markdown", type=Path, default=None,
                   help="also write the grid and the lists as Markdown (e.g. for a CI job summary)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd)


def cmd(args) -> int:
    if args.noise:
        from ..analysis.noise import differences, format_differences
        d = differences(args.run_a, args.run_b)
        print(json.dumps(d, sort_keys=True) if args.json else format_differences(d))
        return EXIT_FAIL if d["verdicts"]["flips"] else EXIT_OK
    from ..analysis.compare import changed, compare_curves, format_comparison
    from ..analysis.compare_page import write_compare_html, write_compare_markdown
    pages = bool(args.html or args.markdown)  # a page shows every cell's paired difference
    result, curves = compare_curves(args.run_a, args.run_b, args.tolerance, paired_all=pages)
    print(json.dumps(result, sort_keys=True) if args.json else format_comparison(result))
    if args.html:
        print(f"page: {write_compare_html(result, curves, args.html)}")
    if args.markdown:
        print(f"markdown: {write_compare_markdown(result, args.markdown)}")
    return EXIT_FAIL if changed(result) else EXIT_OK  # a CI gate: a flip or a moved curve fails
