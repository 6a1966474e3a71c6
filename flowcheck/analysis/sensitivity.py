"""How a verdict and its margin move with the number of samples and the window size k.

Re-judges stored runs (no model): for each run folder (one model, one k) and each n, the
claims are judged on the first n samples per task type of the run's dataset (the samples
``flowcheck run --max-samples n`` would measure), pooled over task types.
"""
from __future__ import annotations

from ..claims.spec import LIBRARY, MAIN_CLAIMS, load_claims
from ..runs.folder import RunFolder
from ..runs.stored import load_run


def _first_ids_per_task(dataset: str, n: int) -> set[str]:
    from ..data.dataset import load
    from ..paths import resolve_portable
    return {s.row["question_id"] for s in load(resolve_portable(dataset), max_per_task=n)}


def sensitivity(run_dirs, claims=MAIN_CLAIMS, ns=(10, 30, 100), n_bootstrap: int = 1000) -> list[dict]:
    """One row per (run, claim, n): model, k, n per task, samples used, verdict, margin, CI."""
    rows = []
    for run_dir in run_dirs:
        run = load_run(run_dir)  # judged with the run's recorded bootstrap seed and noise bound
        folder, meta = RunFolder(run_dir), run.meta
        specs = load_claims([LIBRARY], [c for c in claims if c in meta["claims"]])
        for n in ns:
            ids = _first_ids_per_task(meta["dataset"], n) & set(meta["question_ids"])
            ev, counts = folder.evidence(question_ids=ids)
            for v in run.judge(ev, specs, tasks=[], n_bootstrap=n_bootstrap):
                rows.append({"model": meta["model_name"], "k": meta["k"], "n_per_task": n,
                             "n_used": v.n, "claim": v.claim, "status": v.status,
                             "observed": v.observed, "margin": v.margin,
                             "ci": list(v.ci) if v.ci is not None else None})
    return rows


def render_sensitivity(rows: list[dict]) -> str:
    """Markdown: one row per (claim, model, k); a cell per n: verdict, margin of the binding
    condition (+ = holds by), its observed value with the 95% bootstrap CI, samples used."""
    ns = sorted({r["n_per_task"] for r in rows})
    cell = {(r["claim"], r["model"], r["k"], r["n_per_task"]): r for r in rows}
    keys = sorted({(r["claim"], r["model"], r["k"]) for r in rows})
    lines = ["| claim | model | k | " + " | ".join(f"n = {n}/task" for n in ns) + " |",
             "|---|---|---|" + "---|" * len(ns)]
    for claim, model, k in keys:
        out = []
        for n in ns:
            r = cell.get((claim, model, k, n))
            if r is None or r["margin"] is None:
                out.append("-" if r is None else r["status"])
                continue
            ci = "" if r["ci"] is None else f" [{r['ci'][0]:.3g}, {r['ci'][1]:.3g}]"
            out.append(f"{r['status']} {r['margin']:+.3g} (obs {r['observed']:+.3g}{ci}; {r['n_used']})")
        lines.append(f"| {claim} | {model} | {k} | " + " | ".join(out) + " |")
    return "\n".join(lines) + "\n"
