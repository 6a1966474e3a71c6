"""A whole knockout + logit-lens sweep of one model over a dataset, summarised per task.

This is what ``flowcheck sweep`` (and ``make demo``) runs: self-checks, then for every
task the mean relative change of p(answer) per flow and window centre over correctly
answered samples, and the mean lens curves of the lower-case and capitalised answer.
"""
from __future__ import annotations

import json
from pathlib import Path

from .knockout.flows import FLOWS


def run_sweep(handle, samples, flows=FLOWS, k: int | None = None, engine: str = "fast",
              lens_variant: str = "raw", progress: bool = True) -> dict:
    import numpy as np

    from .knockout.attention import text_attn_implementation
    from .knockout.configs import plan_configs
    from .knockout.selfcheck import run_self_checks
    from .runner import RunPlan, measure_sample, store_key

    checks = run_self_checks(handle, samples[0])
    plan = RunPlan(tuple(flows), (lens_variant,), k, engine)
    key = store_key(plan, handle.n_layers, text_attn_implementation(handle.model))
    configs = plan_configs(plan.flows, handle.n_layers, key["k"])
    by_task: dict = {}
    it = samples
    if progress:
        from tqdm import tqdm
        it = tqdm(samples, desc=f"sweep ({engine})", unit="sample")
    for s in it:
        row = measure_sample(handle, s, plan, key, configs)
        entry = by_task.setdefault(s.task, {"n": 0, "n_correct": 0, "rows": []})
        entry["n"] += 1
        if row["correct"]:
            entry["n_correct"] += 1
            entry["rows"].append(row)
    summary = {"model": handle.name, "n_layers": handle.n_layers, "engine": engine,
               "window_k": key["k"], "lens_variant": lens_variant,
               "self_checks": {c.name: c.passed for c in checks}, "tasks": {}}
    for task, e in sorted(by_task.items()):
        t = {"n": e["n"], "n_correct": e["n_correct"], "curves": {}, "lens": {}}
        for flow in plan.flows:
            curves = [r["changes"][flow] for r in e["rows"] if r["changes"].get(flow) is not None]
            if curves:  # (samples, windows) -> mean per window centre
                t["curves"][flow] = [round(float(v), 2) for v in np.mean(curves, axis=0)]
        if e["rows"]:
            t["lens"] = {tok: [round(float(v), 4) for v in
                               np.mean([r["lens"][lens_variant][tok] for r in e["rows"]], axis=0)]
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
    out = Path(out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise OSError(f"cannot write to {str(out)!r} ({e.strerror}); pass a writable --out") from e
    path = out / "sweep.json"
    path.write_text(json.dumps(summary, indent=1, sort_keys=True) + "\n")
    return path
