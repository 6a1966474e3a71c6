"""Power: at what effect size a claim's verdict turns from fails through uncertain to holds.

No training and no model: the evidence is built from two stored runs of one dataset. A
route-shaped model (the paper-route control, on which every claim holds) gives each
sample's effect; the plain model gives the sample-to-sample noise. For a scale s in [0, 1]:

    row(s) = s * paper_row + (natural_row - natural_task_mean)

one paper-route row (a correctly answered sample) paired at random with a natural-model
deviation of the same task. s = 1 is the paper-route's full effect plus the natural
model's spread; s = 0 is no effect at all. For each claim and each n samples per task, one
random draw of rows is judged at every s of a grid (the same rows at every s, so the
verdict moves only with the effect); the table gives the smallest s at which the verdict
is no longer ``fails`` and the smallest s from which it ``holds``, each with the condition
that decides the verdict there (the binding one) and its observed value (the effect size),
medians over draws.
Knockout claims only (lens probabilities do not scale this way).
"""
from __future__ import annotations

import numpy as np

from ..claims.judge import Evidence, judge
from ..claims.spec import LIBRARY, MAIN_CLAIMS, load_claims
from ..errors import UsageError
from ..runs.stored import load_run

SCALES = tuple(round(float(s), 3) for s in np.arange(0.0, 1.0001, 0.025))


def residuals(ev: Evidence) -> dict:
    """Each row minus its task's mean curve (NaN where not measured)."""
    out = {}
    for key, rows in ev.curves.items():
        res = np.full_like(rows, np.nan)
        for task in set(ev.tasks.tolist()):
            sel = ev.tasks == task
            with np.errstate(invalid="ignore"):
                res[sel] = rows[sel] - np.nanmean(rows[sel], axis=0)
        out[key] = res
    return out


def draw(effect: Evidence, noise: Evidence, keys, n_per_task: int, rng) -> tuple:
    """(effect rows, noise rows) for ``n_per_task`` samples per task: effect rows drawn
    without replacement, each paired with a random noise row of the same task."""
    res = residuals(noise)
    eff_idx, noise_idx = [], []
    for task in sorted(set(effect.tasks.tolist()) & set(noise.tasks.tolist())):
        e = np.flatnonzero(effect.tasks == task)
        z = np.flatnonzero(noise.tasks == task)
        take = rng.choice(e, min(n_per_task, len(e)), replace=False)
        eff_idx.append(take)
        noise_idx.append(rng.choice(z, len(take), replace=True))
    ei, zi = np.concatenate(eff_idx), np.concatenate(noise_idx)
    return (effect.tasks[ei], {k: effect.curves[k][ei] for k in keys},
            {k: res[k][zi] for k in keys})


def power_curve(spec, effect: Evidence, noise: Evidence, family: str, n_per_task: int,
                scales=SCALES, seed: int = 0, n_bootstrap: int = 1000, judging=None) -> list[tuple]:
    """[(s, status, (binding condition, its observed value))] for one random draw (``seed``
    draws the rows; ``judging``: the stored run's bootstrap seed and noise bound,
    ``StoredRun.judging``)."""
    keys = [k for k in effect.curves if k in noise.curves]
    tasks, eff, res = draw(effect, noise, keys, n_per_task, np.random.default_rng(seed))
    out = []
    for s in scales:
        ev = Evidence(effect.n_layers, tasks, {k: s * eff[k] + res[k] for k in keys})
        v = judge(spec, ev, family, **{**(judging or {}), "n_bootstrap": n_bootstrap})
        b = v.binding
        out.append((s, v.status, None if b is None else (b.name, b.observed)))
    return out


def transitions(curve: list[tuple]) -> dict:
    """The smallest s no longer failing and the smallest s from which every larger s holds
    (None when never), with the binding condition and its observed value there."""
    not_fails = next(((s, x) for s, st, x in curve if st != "fails"), None)
    holds_from = None
    for s, st, x in reversed(curve):
        if st != "holds":
            break
        holds_from = (s, x)
    return {"not_fails": not_fails, "holds_from": holds_from}


def power_table(paper_run, natural_run, claims=MAIN_CLAIMS, ns=(10, 30, 100), draws: int = 5,
                scales=SCALES, n_bootstrap: int = 1000, progress=None) -> list[dict]:
    """One row per (claim, n per task): the transitions' median s and effect over ``draws``."""
    paper, natural = load_run(paper_run), load_run(natural_run)
    meta, effect, noise = paper.meta, paper.evidence, natural.evidence
    check_draws(ns, draws, {"EFFECT_RUN": paper, "NOISE_RUN": natural})
    rows = []
    for spec in load_claims([LIBRARY], list(claims)):
        for n in ns:
            found = [transitions(power_curve(spec, effect, noise, meta["family"], n, scales, seed,
                                             n_bootstrap, paper.judging)) for seed in range(draws)]
            if progress:
                progress(spec.id, n)
            thresholds = spec.thresholds_for(meta["family"])
            row = {"claim": spec.id, "n_per_task": n, "draws": draws}
            for key in ("not_fails", "holds_from"):
                hits = [f[key] for f in found if f[key] is not None]
                if len(hits) * 2 <= draws:  # reached in at most half the draws
                    row[key] = None
                    continue
                names = [h[1][0] for h in hits]
                name = max(set(names), key=names.count)  # the condition most draws bind on
                row[key] = {"s": float(np.median([h[0] for h in hits])), "condition": name,
                            "threshold": thresholds[name],
                            "effect": float(np.median([h[1][1] for h in hits if h[1][0] == name]))}
            rows.append(row)
    return rows


def check_draws(ns, draws: int, runs: dict) -> None:
    """Every n can be drawn from every run: a row labelled n=10 drawn from 2 samples per task
    would be a lie. ``runs``: {"EFFECT_RUN": StoredRun, ...} as the user named them."""
    if draws < 1:
        raise UsageError(f"--draws must be a positive integer, got {draws}")
    for name, run in runs.items():
        counts = {t: c.get("n_correct", 0) for t, c in run.counts.items()}
        have = min(counts.values(), default=0)
        if have == 0:
            raise UsageError(f"{name} {str(run.run_dir)!r} stores no correctly answered sample of some "
                             f"task ({counts or 'no samples'}): nothing to draw from; measure the run "
                             "first (flowcheck run), or pass --tasks")
        if max(ns) > have:
            task = min(counts, key=counts.get)
            raise UsageError(f"--n {max(ns)}: {name} {str(run.run_dir)!r} stores {have} correctly "
                             f"answered samples of task {task}; pass --n of at most {have}, or measure "
                             "more samples (flowcheck run --max-samples)")


def render_power(rows: list[dict]) -> str:
    """Markdown: per claim and n, where the verdict stops failing and where it holds."""
    def cell(t):
        if t is None:
            return "never"
        return f"{t['condition']} {t['effect']:+.3g} (threshold {t['threshold']:g}; s = {t['s']:.2f})"
    lines = ["| claim | n/task | no longer fails from (uncertain) | holds from |",
             "|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['claim']} | {r['n_per_task']} | {cell(r['not_fails'])} "
                     f"| {cell(r['holds_from'])} |")
    return "\n".join(lines) + "\n"
