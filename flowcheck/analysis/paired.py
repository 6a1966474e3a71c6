"""Paired differences between two runs of the same samples: is a verdict change real?

Two runs of one dataset measure the same samples, so a condition's statistic can be compared
sample by sample: the bootstrap resamples the samples both runs answered correctly - the same
draw for both runs - and computes the statistic on each run's mean curves of that draw; the
percentile interval of (B - A) says whether the statistic moved (``significant``: the 95%
interval excludes 0). Paired, even a harmless edit (weights rounded to bfloat16 and back)
moves a statistic "significantly" by a hair, so a move must also be one worth a gate: larger
than the smallest change in the statistic's unit (``SMALLEST_CHANGE``: the curve tolerance,
5 pp by default, for knockout statistics; 0.1 of the depth for layer positions; 0.05 for lens
probabilities; 0.1 for ratios). A verdict that grazes its threshold can flip between holds
and uncertain on a float-level change while its statistic barely moves; the gate counts a
changed verdict only when a condition that changed status moved significantly and by more
than that, or - a verdict that newly fails - moved significantly (``classify``).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..claims.judge import BOOTSTRAP_CHUNK, BOOTSTRAP_SEED, N_BOOTSTRAP
from ..claims.statistics import STATISTICS

UNITS = {"min_mean": "pp", "max_abs_mean": "pp", "valley_separation": "pp", "min_gap": "pp",
         "argmin_depth": "depth", "depth_gap": "depth", "lens_rise_gap": "depth", "stage_order": "depth",
         "lens_peak": "probability", "lens_top_margin": "probability", "abs_ratio": "ratio"}
SMALLEST_CHANGE = {"pp": 5.0, "depth": 0.1, "probability": 0.05, "ratio": 0.1}
MIN_PAIRED = 5  # samples in both runs below which a paired interval says nothing
JUDGED = ("holds", "uncertain", "fails")  # statuses a move of the statistic can explain


def smallest_change(statistic: str, tolerance: float | None = None) -> float:
    """The smallest move of ``statistic`` worth a gate (``tolerance``: pp, for knockout ones)."""
    unit = UNITS.get(statistic, "pp")
    return tolerance if unit == "pp" and tolerance is not None else SMALLEST_CHANGE[unit]


@dataclass(frozen=True)
class PairedDifference:
    """B - A of one condition's statistic over the samples both runs answered correctly."""

    condition: str
    statistic: str
    a: float
    b: float
    diff: float
    ci: tuple[float, float]  # bootstrap 95% percentile interval of the difference, containing it
    n: int

    @property
    def finite(self) -> bool:
        return all(np.isfinite(x) for x in (self.diff, *self.ci))

    @property
    def significant(self) -> bool:
        """The 95% interval excludes 0 - on at least ``MIN_PAIRED`` samples (fewer resample to
        an interval of a few points that excludes 0 on any move)."""
        return self.n >= MIN_PAIRED and (self.ci[0] > 0 or self.ci[1] < 0)

    def matters(self, tolerance: float | None = None) -> bool:
        """Larger than the smallest change worth a gate and significant - or, on fewer than
        ``MIN_PAIRED`` samples, where significance cannot be told, larger alone (module doc)."""
        big = abs(self.diff) > smallest_change(self.statistic, tolerance)
        return big and (self.significant or self.n < MIN_PAIRED)

    def as_dict(self, tolerance: float | None = None) -> dict:
        return {"diff": round(self.diff, 4), "ci": [round(self.ci[0], 4), round(self.ci[1], 4)],
                "n": self.n, "significant": self.significant, "matters": self.matters(tolerance)}


def paired_evidence(run_a: Path, run_b: Path, question_ids=None):
    """(Evidence of A, Evidence of B): the rows of the samples both runs answered correctly
    (and measured finitely), in the same order (by question id); ``question_ids``: of these."""
    return aligned(*run_samples(run_a, question_ids), *run_samples(run_b, question_ids))


def condition_differences(spec, ev_a, ev_b, task: str, n_bootstrap: int = N_BOOTSTRAP,
                          seed: int = BOOTSTRAP_SEED) -> dict[str, PairedDifference]:
    """{condition: PairedDifference} of ``spec`` on ``task``'s paired rows ({} without rows)."""
    a, b = ev_a.select(task), ev_b.select(task)
    keys = sorted({k for c in spec.conditions for k in STATISTICS[c.statistic].keys(c.kwargs())})
    if any(k not in a.curves or k not in b.curves for k in keys) or len(a.tasks) != len(b.tasks):
        return {}
    usable = np.ones(len(a.tasks), bool)
    for ev in (a, b):
        for k in keys:
            usable &= ~np.isnan(ev.curves[k]).all(axis=1)
    n = int(usable.sum())
    if n == 0:
        return {}
    ranges = dict(spec.layers)
    sides = [({k: ev.curves[k][usable] for k in keys}, ev.n_layers) for ev in (a, b)]

    def values(means: list[dict]) -> np.ndarray:  # (side, condition) statistic on mean curves
        return np.array([[STATISTICS[c.statistic].evaluate(m, ranges, n_layers, c.kwargs())[0]
                          for c in spec.conditions] for m, (_, n_layers) in zip(means, sides)])

    observed = values([{k: np.nanmean(v, axis=0) for k, v in rows.items()} for rows, _ in sides])
    rng = np.random.default_rng(seed)
    draws = np.stack([rng.integers(0, n, n) for _ in range(n_bootstrap)])  # (B, n): one draw, both runs
    boot = []
    for start in range(0, n_bootstrap, BOOTSTRAP_CHUNK):  # the means of a chunk of resamples at once
        batch = draws[start:start + BOOTSTRAP_CHUNK]
        means = [{k: np.nanmean(v[batch], axis=1) for k, v in rows.items()} for rows, _ in sides]
        boot += [np.subtract(*values([{k: m[b] for k, m in side.items()} for side in means])[::-1])
                 for b in range(len(batch))]
    boot = np.array(boot)  # (B, conditions): B - A per resample
    out = {}
    for i, c in enumerate(spec.conditions):
        diff = float(observed[1, i] - observed[0, i])
        lo, hi = np.percentile(boot[:, i], [2.5, 97.5])
        out[c.name] = PairedDifference(c.name, c.statistic, float(observed[0, i]), float(observed[1, i]),
                                       diff, (float(min(lo, diff)), float(max(hi, diff))), n)
    return out


def classify(flip: dict, differences: dict[str, PairedDifference], tolerance: float | None = None) -> str:
    """'changed' when a condition that changed status between the runs moved significantly
    (paired) and by more than the smallest change worth a gate - or, for a verdict that went
    to ``fails``, moved significantly at all - else 'borderline' (the verdict flipped while its
    statistic did not move: a threshold grazed in both runs); 'changed' when no paired
    evidence exists, a difference is not finite, or either status is not holds, uncertain or
    fails (inconclusive, not applicable)."""
    moved = [c for c in (flip.get("conditions") or list(differences)) if c in differences]
    if not differences or not all(d.finite for d in differences.values()):
        return "changed"  # nothing to pair, or a statistic that is not a number: never borderline
    if any(flip.get(side) is not None and flip.get(side) not in JUDGED for side in ("a", "b")):
        return "changed"  # to or from inconclusive / not applicable: not a grazed threshold
    if flip.get("b") == "fails" and flip.get("a") != "fails":
        return "changed" if any(differences[c].significant or differences[c].matters(tolerance)
                                for c in moved) else "borderline"
    return "changed" if any(differences[c].matters(tolerance) for c in moved) else "borderline"


def run_samples(run_dir: Path, question_ids=None):
    """(question ids, Evidence) of a run's correctly answered, finite samples (of
    ``question_ids``, default all the run measured), row i of every curve being sample
    ``ids[i]`` (the rows the judge used)."""
    from ..runs.execute import RunPlan
    from ..runs.folder import RunFolder, evidence_from_rows
    from ..runs.stored import lens_variant, run_specs
    folder = RunFolder(run_dir)
    meta = folder.meta()
    plan = RunPlan.from_meta(meta)
    rows = folder.latest_rows(plan, question_ids, meta)
    ev, _ = evidence_from_rows(rows, plan, meta["n_layers"], lens_variant(run_specs(meta)))
    ids = [q for q in sorted(rows) if rows[q]["correct"] and not rows[q].get("non_finite")]
    return ids, ev


def aligned(ids_a: list, ev_a, ids_b: list, ev_b):
    """(Evidence of A, Evidence of B) restricted to the samples both hold, in one order."""
    from ..claims.judge import Evidence
    where_b = {q: i for i, q in enumerate(ids_b)}
    pairs = [(i, where_b[q]) for i, q in enumerate(ids_a) if q in where_b]
    ia = np.array([i for i, _ in pairs], dtype=int)
    ib = np.array([j for _, j in pairs], dtype=int)
    keys = sorted(set(ev_a.curves) & set(ev_b.curves))
    return tuple(Evidence(ev.n_layers, ev.tasks[idx], {k: ev.curves[k][idx] for k in keys})
                 for ev, idx in ((ev_a, ia), (ev_b, ib)))
