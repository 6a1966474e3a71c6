"""Compare two run folders: verdict changes per (claim, task) and per-layer curve changes.

Pure: reads verdicts.json and the stored results of both runs (no model). A claim whose
status differs between the runs is a flip; a mean knockout curve that moved more than
``tolerance`` percentage points at some layer is listed with the layer and the change.
"""
from __future__ import annotations

from pathlib import Path

from .claims.judge import POOLED


def _load(run_dir: Path):
    from .run_folder import RunFolder
    folder = RunFolder(run_dir)
    meta, verdicts = folder.meta(), folder.verdicts()
    ev, _ = folder.evidence()
    return meta, verdicts, ev


def _mean_curves(ev) -> dict:
    import numpy as np
    out = {}
    for task in sorted(set(ev.tasks.tolist())) + [POOLED]:
        sel = ev.select(task)
        for key, rows in sel.curves.items():
            if key.startswith("lens") or len(rows) == 0 or np.isnan(rows).all():
                continue
            out[(task, key)] = np.nanmean(rows, axis=0)
    return out


def compare_runs(run_a: Path, run_b: Path, tolerance: float = 5.0) -> dict:
    """{'flips': [...], 'curve_changes': [...], 'n_compared': n} between run A and run B."""
    meta_a, va, ev_a = _load(run_a)
    meta_b, vb, ev_b = _load(run_b)
    flips = []
    for claim in sorted(set(va) & set(vb)):
        for task in sorted(set(va[claim]["tasks"]) & set(vb[claim]["tasks"])):
            a, b = va[claim]["tasks"][task], vb[claim]["tasks"][task]
            if a["status"] != b["status"]:
                flips.append({"claim": claim, "task": task, "a": a["status"], "b": b["status"],
                              "margin_a": a["margin"], "margin_b": b["margin"]})
    changes = []
    if meta_a["n_layers"] == meta_b["n_layers"]:
        ca, cb = _mean_curves(ev_a), _mean_curves(ev_b)
        for key in sorted(set(ca) & set(cb)):
            diff = cb[key] - ca[key]
            layer = int(abs(diff).argmax())
            if abs(diff[layer]) > tolerance:
                changes.append({"task": key[0], "flow": key[1], "layer": layer,
                                "a": round(float(ca[key][layer]), 2),
                                "b": round(float(cb[key][layer]), 2),
                                "change": round(float(diff[layer]), 2)})
    return {"run_a": meta_a["model_name"], "run_b": meta_b["model_name"], "tolerance": tolerance,
            "flips": flips, "curve_changes": changes,
            "only_in_a": sorted(set(va) - set(vb)), "only_in_b": sorted(set(vb) - set(va))}


def format_comparison(result: dict) -> str:
    lines = [f"A: {result['run_a']}", f"B: {result['run_b']}"]
    if result["flips"]:
        lines.append(f"{len(result['flips'])} verdict(s) changed:")
        for f in result["flips"]:
            lines.append(f"  {f['claim']} [{f['task']}]: {f['a']} -> {f['b']} "
                         f"(margin {f['margin_a']} -> {f['margin_b']})")
    else:
        lines.append("no verdict changed")
    if result["curve_changes"]:
        lines.append(f"curves that moved more than {result['tolerance']} points:")
        for c in result["curve_changes"]:
            lines.append(f"  {c['flow']} [{c['task']}] layer {c['layer']}: {c['a']:+.1f}% -> "
                         f"{c['b']:+.1f}% ({c['change']:+.1f})")
    return "\n".join(lines)
