"""A whole knockout + logit-lens sweep of one model over a dataset, summarised per task.

This is what ``flowcheck sweep`` runs (curves only, no claims): self-checks, then for every
task the mean relative change of p(answer) per flow and window centre over correctly
answered samples, and the mean lens curves of the lower-case and capitalised answer. The
samples are measured by the same runner as ``flowcheck run``, into a run folder, so an
interrupted sweep resumes.
"""
from __future__ import annotations

import json
from pathlib import Path

from ..measure.flows import CORE_FLOWS


def run_sweep(handle, samples, settings, flows=CORE_FLOWS, lens_variant: str = "raw",
              progress: bool = True) -> dict:
    """Self-checks, then every (flow, window) and the lens on every sample, measured by the
    runner into the run folder ``settings.out`` (resumable: a rerun measures only what is
    missing; run.json written by ``record.run_record``, as for a claims run), then the mean
    curves per task over the correctly answered samples."""
    import time

    import numpy as np

    from ..measure.attention import text_attn_implementation
    from ..measure.selfcheck import run_self_checks
    from .execute import RunPlan, execute, store_key
    from .folder import RunFolder
    from .record import finish_record, run_record

    checks = run_self_checks(handle, samples[0])
    engine = settings.engine
    plan = RunPlan(tuple(flows), (lens_variant,), settings.window, engine)
    key = store_key(plan, handle.n_layers, text_attn_implementation(handle.model), handle=handle)
    t0 = time.perf_counter()
    family = handle.source.family if handle.source is not None else "reference"
    meta = run_record(settings, handle, samples, plan, key["k"], checks=checks, family=family)
    folder = RunFolder(settings.out).create(meta)
    counts = execute(handle, samples, plan, folder, progress=progress)
    rows = folder.latest_rows(plan)
    folder.write_meta(finish_record(meta, rows.values(), counts, t0))
    summary = {"model": handle.name, "n_layers": handle.n_layers, "engine": engine,
               "window_k": key["k"], "lens_variant": lens_variant,
               "self_checks": {c.name: c.passed for c in checks}, "tasks": {}}
    for task in sorted({r["task"] for r in rows.values()}):
        mine = [r for q, r in sorted(rows.items()) if r["task"] == task]
        ok = [r for r in mine if r["correct"]]
        t = {"n": len(mine), "n_correct": len(ok), "curves": {}, "lens": {}}
        for flow in plan.flows:
            curves = [r["changes"][flow] for r in ok if r["changes"].get(flow) is not None]
            if curves:  # (samples, windows) -> mean per window centre
                t["curves"][flow] = [round(float(v), 2) for v in np.mean(curves, axis=0)]
        if ok:
            t["lens"] = {tok: [round(float(v), 4) for v in
                               np.mean([r["lens"][lens_variant][tok] for r in ok], axis=0)]
                         for tok in ("lower", "capitalised")}
        summary["tasks"][task] = t
    return summary


def format_summary(summary: dict) -> str:
    """Per task and flow: the most negative mean change and its window centre."""
    lines = [f"model {summary['model']} ({summary['n_layers']} layers, {summary['engine']} engine)",
             "self-checks: " + ("all passed" if all(summary["self_checks"].values()) else
                                str({k: v for k, v in summary["self_checks"].items() if not v}))]
    flows = sorted({f for t in summary["tasks"].values() for f in t["curves"]})
    lines.append(f"{'task':<12} {'n ok':>6}  " + "  ".join(f"{f:>19}" for f in flows))
    for task, t in summary["tasks"].items():
        cells = []
        for f in flows:
            curve = t["curves"].get(f)
            if not curve:
                cells.append(f"{'-':>19}")
                continue
            low = min(range(len(curve)), key=curve.__getitem__)
            cells.append(f"{curve[low]:>+10.1f}% @ L{low:<3}")
        lines.append(f"{task:<12} {t['n_correct']:>3}/{t['n']:<3} " + "  ".join(f"{c:>19}" for c in cells))
    lines.append("(cells: lowest mean change of p(answer) over window centres, and that centre)")
    return "\n".join(lines)


def write_sweep(summary: dict, out: Path) -> Path:
    """``sweep.json`` next to the measured rows in the run folder ``out``."""
    path = Path(out) / "sweep.json"
    path.write_text(json.dumps(summary, indent=1, sort_keys=True) + "\n")
    return path
