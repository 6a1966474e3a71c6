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


def run_sweep(handle, samples, out: Path, flows=CORE_FLOWS, k: int | None = None, engine: str = "fast",
              lens_variant: str = "raw", dataset: Path | None = None, progress: bool = True) -> dict:
    """Self-checks, then every (flow, window) and the lens on every sample, measured by the
    runner into the run folder ``out`` (resumable: a rerun measures only what is missing),
    then the mean curves per task over the correctly answered samples."""
    import numpy as np

    from ..measure.attention import text_attn_implementation
    from ..measure.selfcheck import run_self_checks
    from ..models.fingerprint import weights_fingerprint
    from ..paths import EVAL_SPLIT, portable_path
    from .execute import RunPlan, execute, store_key
    from .folder import RunFolder

    checks = run_self_checks(handle, samples[0])
    plan = RunPlan(tuple(flows), (lens_variant,), k, engine)
    attn = text_attn_implementation(handle.model)
    key = store_key(plan, handle.n_layers, attn, handle=handle)
    folder = RunFolder(out).create({
        "model": handle.name, "model_name": handle.name, "weights": weights_fingerprint(handle.model),
        "dataset": portable_path(Path(dataset or EVAL_SPLIT)), "n_layers": handle.n_layers,
        "k": key["k"], "engine": engine, "flows": list(plan.flows), "lens_variants": [lens_variant],
        "claims": [], "question_ids": [s.row["question_id"] for s in samples], "attn": attn,
        "family": None, "adapter": handle.adapter.record()})
    execute(handle, samples, plan, folder, progress=progress)
    rows = folder.latest_rows(plan)
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
