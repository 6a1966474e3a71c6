"""Judge claims on evidence: verdict per (claim, task) and pooled, with bootstrap 95% CIs.

Pure numpy. Evidence rows are samples (the correctly answered ones); each curve key
(a flow, or 'lens:lower' / 'lens:capitalised') holds one row per sample and one column
per layer. A statistic is computed on the mean curves; its CI comes from resampling rows.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .spec import ClaimSpec
from .statistics import STATISTICS

POOLED = "all"
N_BOOTSTRAP = 1000
STATUSES = ("holds", "fails", "inconclusive")


@dataclass
class Evidence:
    """Per-sample curves of one model on one dataset (rows aligned across keys)."""

    n_layers: int
    tasks: np.ndarray  # (n_samples,) task type of each row
    curves: dict = field(default_factory=dict)  # key -> (n_samples, n_layers), NaN = not measured

    def select(self, task: str) -> "Evidence":
        keep = np.ones(len(self.tasks), bool) if task == POOLED else self.tasks == task
        return Evidence(self.n_layers, self.tasks[keep], {k: v[keep] for k, v in self.curves.items()})


@dataclass(frozen=True)
class ConditionResult:
    name: str
    statistic: str
    observed: float
    op: str
    threshold: float
    margin: float  # > 0: holds by that much; < 0: fails by that much
    ci: tuple[float, float]
    holds: bool


@dataclass(frozen=True)
class Verdict:
    claim: str
    version: int
    task: str
    status: str  # holds | fails | inconclusive
    n: int
    observed: float | None  # of the binding condition (smallest margin)
    threshold: float | None
    margin: float | None
    ci: tuple[float, float] | None
    conditions: tuple[ConditionResult, ...] = ()
    reason: str = ""

    @property
    def passed(self) -> bool:
        return self.status == "holds"


def _margin(observed: float, op: str, threshold: float) -> float:
    return threshold - observed if op == "<=" else observed - threshold


def _inconclusive(spec, task, n, reason) -> Verdict:
    return Verdict(spec.id, spec.version, task, "inconclusive", n, None, None, None, None, (), reason)


def judge(spec: ClaimSpec, evidence: Evidence, family: str, task: str = POOLED,
          n_bootstrap: int = N_BOOTSTRAP, seed: int = 0) -> Verdict:
    """One verdict for ``spec`` on the rows of ``task`` ('all' pools every task)."""
    ev = evidence.select(task)
    thresholds = spec.thresholds_for(family)
    ranges = dict(spec.layers)
    keys = sorted({k for c in spec.conditions for k in STATISTICS[c.statistic].keys(c.kwargs())})
    absent = [k for k in keys if k not in ev.curves]
    if absent:
        return _inconclusive(spec, task, 0, f"no evidence for {absent[0]!r} (not measured)")
    usable = np.ones(len(ev.tasks), bool)
    for k in keys:
        usable &= ~np.isnan(ev.curves[k]).all(axis=1)  # a sample lacking a region is dropped
    n = int(usable.sum())
    if n == 0:
        why = "no correctly answered samples" if len(ev.tasks) == 0 else "no sample has every region"
        return _inconclusive(spec, task, 0, why)
    rows = {k: ev.curves[k][usable] for k in keys}  # (n, n_layers) each

    def statistics_on(index) -> list[float]:
        means = {k: np.nanmean(v[index], axis=0) for k, v in rows.items()}
        return [STATISTICS[c.statistic].fn(means, ranges, ev.n_layers, **c.kwargs())
                for c in spec.conditions]

    observed = statistics_on(slice(None))
    rng = np.random.default_rng(seed)
    boot = np.array([statistics_on(rng.integers(0, n, n)) for _ in range(n_bootstrap)])
    results = []
    for i, c in enumerate(spec.conditions):
        t = thresholds[c.name]
        lo, hi = np.percentile(boot[:, i], [2.5, 97.5])
        m = _margin(observed[i], c.op, t)
        results.append(ConditionResult(c.name, c.statistic, float(observed[i]), c.op, t, float(m),
                                       (float(lo), float(hi)), m >= 0))
    binding = min(results, key=lambda r: r.margin)
    status = "holds" if all(r.holds for r in results) else "fails"
    return Verdict(spec.id, spec.version, task, status, n, binding.observed, binding.threshold,
                   binding.margin, binding.ci, tuple(results))


def judge_all(specs, evidence: Evidence, family: str, tasks=None, **kw) -> list[Verdict]:
    """Verdicts per claim for each task type present (or ``tasks``) and pooled."""
    tasks = sorted(set(evidence.tasks.tolist())) if tasks is None else list(tasks)
    return [judge(s, evidence, family, t, **kw) for s in specs for t in [*tasks, POOLED]]
