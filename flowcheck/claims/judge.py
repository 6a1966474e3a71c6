"""Judge claims on evidence: verdict per (claim, task) and pooled, with bootstrap 95% CIs.

Pure numpy. Evidence rows are samples (the correctly answered ones); each curve key
(a flow, or 'lens:lower' / 'lens:capitalised') holds one row per sample and one column
per layer. A statistic is computed on the mean curves; its CI comes from resampling rows.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .spec import ClaimSpec
from .statistics import STATISTICS, Noise

POOLED = "all"
N_BOOTSTRAP = 1000
_CHUNK = 100  # resamples whose mean curves are computed in one array operation
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
class NoiseRange:
    """What float noise of a given size can make of one condition's numbers: the range of
    the observed value, of the margin, and of each CI bound."""

    observed: tuple[float, float]
    margin: tuple[float, float]
    ci: tuple[tuple[float, float], tuple[float, float]]


NOT_APPLICABLE = "not applicable"


def status_can_flip(status: str, margin_ranges) -> bool:
    """Noise could flip a verdict whose conditions' margins can take these (lo, hi) ranges:
    it holds and some margin could drop below 0, or it fails and every margin could reach 0."""
    margin_ranges = list(margin_ranges)
    if status == "holds":
        return any(lo < 0 for lo, _ in margin_ranges)
    if status == "fails":
        return bool(margin_ranges) and all(hi >= 0 for _, hi in margin_ranges)
    return False


@dataclass(frozen=True)
class Verdict:
    claim: str
    version: int
    task: str
    status: str  # holds | fails | inconclusive | not applicable (the family is not in applies_to)
    n: int
    observed: float | None  # of the binding condition (smallest margin)
    threshold: float | None
    margin: float | None
    ci: tuple[float, float] | None
    conditions: tuple[ConditionResult, ...] = ()
    reason: str = ""
    noise: dict | None = None  # condition name -> NoiseRange (when judged with noise=)

    @property
    def within_noise(self) -> bool:
        """Float noise alone could flip this verdict (``status_can_flip``)."""
        return bool(self.noise) and status_can_flip(self.status,
                                                    [r.margin for r in self.noise.values()])

    @property
    def passed(self) -> bool:
        """Does not fail a run: it holds, or the claim does not apply to the model's family."""
        return self.status in ("holds", NOT_APPLICABLE)


def _margin(observed: float, op: str, threshold: float) -> float:
    return threshold - observed if op == "<=" else observed - threshold


def _inconclusive(spec, task, n, reason) -> Verdict:
    return Verdict(spec.id, spec.version, task, "inconclusive", n, None, None, None, None, (), reason)


def _margin_range(lo: float, hi: float, op: str, threshold: float) -> tuple[float, float]:
    a, b = _margin(lo, op, threshold), _margin(hi, op, threshold)
    return (min(a, b), max(a, b))


def judge(spec: ClaimSpec, evidence: Evidence, family: str, task: str = POOLED,
          n_bootstrap: int = N_BOOTSTRAP, seed: int = 0, noise: Noise | None = None) -> Verdict:
    """One verdict for ``spec`` on the rows of ``task`` ('all' pools every task).

    ``noise``: also compute, per condition, the range every number can take when the
    per-sample curves move by up to that much (``Verdict.noise``)."""
    if family not in spec.applies_to:
        return Verdict(spec.id, spec.version, task, NOT_APPLICABLE, 0, None, None, None, None, (),
                       f"the claim applies to {', '.join(spec.applies_to)}, not to family {family!r}")
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

    conditions = [(STATISTICS[c.statistic], c.kwargs()) for c in spec.conditions]

    def statistics_on(means: dict) -> list[tuple[float, float, float]]:
        """(value, lo, hi) of each condition on these mean curves (key -> (n_layers,))."""
        return [stat.evaluate(means, ranges, ev.n_layers, args, noise) for stat, args in conditions]

    observed = statistics_on({k: np.nanmean(v, axis=0) for k, v in rows.items()})
    rng = np.random.default_rng(seed)
    draws = np.stack([rng.integers(0, n, n) for _ in range(n_bootstrap)])  # (B, n) resampled rows
    boot = []
    for start in range(0, n_bootstrap, _CHUNK):  # means of a chunk of resamples at once
        batch = draws[start:start + _CHUNK]
        means = {k: np.nanmean(v[batch], axis=1) for k, v in rows.items()}  # (chunk, n_layers)
        boot += [statistics_on({k: m[b] for k, m in means.items()}) for b in range(len(batch))]
    boot = np.array(boot)  # (B, conditions, 3)
    results, spread = [], {}
    for i, c in enumerate(spec.conditions):
        t = thresholds[c.name]
        lo, hi = np.percentile(boot[:, i, 0], [2.5, 97.5])
        value, low, high = observed[i]
        m = _margin(value, c.op, t)
        results.append(ConditionResult(c.name, c.statistic, float(value), c.op, t, float(m),
                                       (float(lo), float(hi)), m >= 0))
        if noise is not None:  # order statistics are monotone: bounds of each resample bound them
            lo_range = tuple(float(x) for x in np.percentile(boot[:, i, 1:], 2.5, axis=0))
            hi_range = tuple(float(x) for x in np.percentile(boot[:, i, 1:], 97.5, axis=0))
            spread[c.name] = NoiseRange((float(low), float(high)),
                                        _margin_range(low, high, c.op, t), (lo_range, hi_range))
    binding = min(results, key=lambda r: r.margin)
    status = "holds" if all(r.holds for r in results) else "fails"
    return Verdict(spec.id, spec.version, task, status, n, binding.observed, binding.threshold,
                   binding.margin, binding.ci, tuple(results),
                   noise=spread if noise is not None else None)


def judge_all(specs, evidence: Evidence, family: str, tasks=None, **kw) -> list[Verdict]:
    """Verdicts per claim for each task type present (or ``tasks``) and pooled."""
    tasks = sorted(set(evidence.tasks.tolist())) if tasks is None else list(tasks)
    return [judge(s, evidence, family, t, **kw) for s in specs for t in [*tasks, POOLED]]
