"""Claim x model table from several run folders (their verdicts.json), pooled over tasks.

Each cell: verdict, the binding condition's observed value and its signed margin. No model
is loaded: the table is built from what ``flowcheck run`` wrote.
"""
from __future__ import annotations

import json
from pathlib import Path

from ..claims.judge import POOLED, deciding
from ..errors import NotFoundError
from ..report.summary import MARK
from ..runs.folder import RunFolder

MATRIX_JSON, MATRIX_MD = "matrix.json", "matrix.md"


def _cell(entry: dict) -> dict:
    conds = entry.get("conditions") or {}
    binding = deciding({c: (d.get("status", entry["status"]), d["margin"]) for c, d in conds.items()},
                       entry["status"])
    return {"status": entry["status"], "observed": entry.get("observed"),
            "margin": entry.get("margin"), "binding": binding, "n": entry.get("n")}


def build_matrix(runs: dict[str, Path]) -> dict:
    """{'models': [...], 'claims': {claim: {model: cell}}} from each run's pooled verdicts."""
    claims: dict[str, dict] = {}
    for label, run_dir in runs.items():
        try:
            verdicts = RunFolder(run_dir).verdicts()
        except NotFoundError as e:
            raise NotFoundError(f"{label}: {e}") from None
        for claim, v in verdicts.items():
            if POOLED in v["tasks"]:
                claims.setdefault(claim, {})[label] = _cell(v["tasks"][POOLED])
    return {"models": list(runs), "claims": dict(sorted(claims.items()))}


def render_matrix(matrix: dict) -> str:
    models = matrix["models"]
    lines = ["# Claims x models (pooled over task types)", "",
             "Each cell: verdict, observed value of the binding condition (margin; + = holds by).", "",
             "| claim | " + " | ".join(models) + " |", "|---|" + "---|" * len(models)]
    for claim, row in matrix["claims"].items():
        cells = []
        for m in models:
            c = row.get(m)
            cells.append("-" if c is None else
                         f"{MARK[c['status']]} {c['observed']:+.3g} ({c['margin']:+.3g})"
                         if c["observed"] is not None else MARK[c["status"]])
        lines.append(f"| {claim} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def write_matrix(runs: dict[str, Path], out: Path) -> dict:
    matrix = build_matrix(runs)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / MATRIX_JSON).write_text(json.dumps(matrix, indent=1, sort_keys=True) + "\n")
    (out / MATRIX_MD).write_text(render_matrix(matrix))
    return matrix
