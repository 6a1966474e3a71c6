"""flowcheck matrix: one claim x model table from several run folders (no model)."""
from __future__ import annotations

import json
from pathlib import Path

from ..errors import UsageError
from .args import EXIT_OK, command

EXAMPLES = ["flowcheck matrix base=reports/ref mine=reports/mine --out reports/side-by-side"]


def add_parser(sub) -> None:
    p = command(sub, "matrix", "claim x model table from several run folders (no model)", EXAMPLES)
    p.add_argument("runs", nargs="+", metavar="LABEL=RUN_DIR",
                   help="a label and a run folder written by `flowcheck run`, "
                        "e.g. natural=reports/demo/natural")
    p.add_argument("--out", type=Path, required=True, help="folder for matrix.md and matrix.json")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd)


def label_dir(text: str) -> tuple[str, Path]:
    label, sep, folder = text.partition("=")
    if not sep or not label or not folder:
        raise UsageError(f"run {text!r} is not LABEL=RUN_DIR; write e.g. natural=reports/demo/natural")
    return label, Path(folder)


def labelled_runs(texts: list[str]) -> dict[str, Path]:
    """{label: run folder} from LABEL=RUN_DIR arguments, in the order given; a label given
    twice is a usage error."""
    pairs = [label_dir(t) for t in texts]
    labels = [label for label, _ in pairs]
    twice = sorted({label for label in labels if labels.count(label) > 1})
    if twice:
        raise UsageError(f"label {twice[0]!r} is given to more than one run; give each run its own "
                         "label (e.g. base=RUN_A edited=RUN_B)")
    return dict(pairs)


def cmd(args) -> int:
    from ..analysis.matrix import MATRIX_MD, write_matrix
    runs = labelled_runs(args.runs)
    matrix = write_matrix(runs, args.out)
    print(json.dumps(matrix, sort_keys=True) if args.json else (args.out / MATRIX_MD).read_text())
    return EXIT_OK
