"""Judge claims on evidence: verdict per (claim, task) and pooled, with bootstrap 95% CIs.

Pure numpy. Evidence rows are samples (the correctly answered ones); each curve key
(a flow, or 'lens:lower' / 'lens:capitalised') holds one row per sample and one column
per layer. A statistic is computed on the mean curves; its CI comes from resampling rows
(``N_BOOTSTRAP`` resamples drawn with the fixed seed ``BOOTSTRAP_SEED``).

The decision rule. Each condition's *interval* is the bootstrap 95% percentile interval,
widened to contain the observed value (the bootstrap of a minimum is biased low, so its
percentile interval can miss the value it is about). A condition

- ``holds`` when every value in its interval meets ``op threshold``,
- ``fails`` when no value in it does,
- is ``uncertain`` when the interval straddles the threshold.

A claim ``fails`` when any condition fails, is ``uncertain`` when none fails and some are
uncertain (with ``samples_needed``: about how many samples would shrink the interval off
the threshold, from its width and 1/sqrt(n)), and ``holds`` when every condition holds.
``inconclusive``: no usable sample or region.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .names import POOLED, UNCERTAIN_POLICIES  # noqa: F401  (re-exported)
from .spec import ClaimSpec
from .statistics import STATISTICS, Noise

N_BOOTSTRAP = 1000
BOOTSTRAP_SEED = 0  # fixed: the same evidence always gets the same intervals (run.json records it)
BOOTSTRAP_CHUNK = 100  # resamples whose mean curves are computed in one array operation
STATUSES = ("holds", "fails", "uncertain", "inconclusive")


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
    margin: float  # > 0: the observed value meets the threshold by that much; < 0: misses it
    ci: tuple[float, float]  # bootstrap 95% interval, widened to contain ``observed``
    holds: bool  # the observed value meets the threshold (margin >= 0)
    status: str = ""  # holds | fails | uncertain: where the whole interval lies (module doc)
    samples_needed: int | None = None  # uncertain: about how many samples would settle it


@dataclass(frozen=True)
class NoiseRange:
    """What float noise of a given size can make of one condition's numbers: the range of
    the observed value, of the margin, and of each CI bound."""

    observed: tuple[float, float]
    margin: tuple[float, float]
    ci: tuple[tuple[float, float], tuple[float, float]]


NOT_APPLICABLE = "not applicable"


def condition_status(op: str, threshold: float, lo: float, hi: float) -> str:
    """Where the interval [lo, hi] lies: every value meets ``op threshold`` (holds), none
    does (fails), or it straddles the threshold (uncertain)."""
    meets = (lambda x: x <= threshold) if op == "<=" else (lambda x: x >= threshold)
    if meets(lo) and meets(hi):
        return "holds"
    if not meets(lo) and not meets(hi):
        return "fails"
    return "uncertain"


def combine(statuses) -> str:
    """A claim's status from its conditions': fails if any fails, else uncertain if any is,
    else holds."""
    statuses = set(statuses)
    return "fails" if "fails" in statuses else "uncertain" if "uncertain" in statuses else "holds"


Z_95, Z_POWER = 1.959964, 0.841621  # two-sided 95% interval; 80% power


def samples_needed(n: int, observed: float, op: str, threshold: float,
                   ci: tuple[float, float]) -> int | None:
    """About how many samples a new run needs for its interval to clear the threshold with
    80% probability, if the effect is what was observed: the half-width h towards the
    threshold shrinks as 1/sqrt(n), so n * (h / distance)^2 * ((z_.975 + z_.80) / z_.975)^2
    (the usual power calculation). None when the observed value sits on the threshold."""
    distance = abs(observed - threshold)
    if distance <= 1e-12:
        return None
    meets = observed <= threshold if op == "<=" else observed >= threshold
    towards_high = (op == "<=") == meets  # the bound on the threshold's side is the upper one
    half = (ci[1] - observed) if towards_high else (observed - ci[0])
    need = n * (half / distance) ** 2 * ((Z_95 + Z_POWER) / Z_95) ** 2
    return max(n + 1, int(np.ceil(need)))


def deciding(conditions: dict, status: str):
    """The condition that decides a claim's status, from {name: (condition status, margin)}:
    among those with ``status``, the smallest margin (all of them when none has it); None
    when there are no conditions. One rule for verdicts, their dicts and the matrix."""
    if not conditions:
        return None
    names = [n for n, (s, _) in conditions.items() if s == status] or list(conditions)
    return min(names, key=lambda n: conditions[n][1])


def reachable_statuses(op: str, threshold: float, lo_range, hi_range) -> set[str]:
    """The statuses a condition can take when its interval's bounds move within these
    (lo, hi) ranges (float noise)."""
    out = set()
    if op == "<=":
        if hi_range[0] <= threshold:
            out.add("holds")
        if lo_range[1] > threshold:
            out.add("fails")
        if lo_range[0] <= threshold < hi_range[1]:
            out.add("uncertain")
    else:
        if lo_range[1] >= threshold:
            out.add("holds")
        if hi_range[0] < threshold:
            out.add("fails")
        if lo_range[0] < threshold <= hi_range[1]:
            out.add("uncertain")
    return out


def reachable_verdicts(per_condition) -> set[str]:
    """The claim statuses reachable when each condition can take any of its reachable
    statuses (``per_condition``: one set per condition)."""
    per_condition = [s for s in per_condition if s]
    if not per_condition:
        return set()
    out = set()
    if any("fails" in s for s in per_condition):
        out.add("fails")
    if all("holds" in s for s in per_condition):
        out.add("holds")
    if all(s - {"fails"} for s in per_condition) and any("uncertain" in s for s in per_condition):
        out.add("uncertain")
    return out


def status_can_flip(status: str, per_condition) -> bool:
    """Float noise could give this verdict another status (``per_condition``: the reachable
    statuses of each condition, ``reachable_statuses``)."""
    if status not in ("holds", "fails", "uncertain"):
        return False
    return bool(reachable_verdicts(per_condition) - {status})


def interval_ranges(ci_ranges, observed_range) -> tuple[tuple[float, float], tuple[float, float]]:
    """The (lo, hi) ranges of a condition interval's two bounds under float noise: the
    bootstrap bounds' ranges ``ci_ranges`` ((lo_lo, lo_hi), (hi_lo, hi_hi)) widened, as the
    interval is, to contain the observed value's range."""
    (lo_lo, lo_hi), (hi_lo, hi_hi) = ci_ranges
    ob_lo, ob_hi = observed_range
    return (min(lo_lo, ob_lo), min(lo_hi, ob_hi)), (max(hi_lo, ob_lo), max(hi_hi, ob_hi))


@dataclass(frozen=True)
class Verdict:
    claim: str
    version: int
    task: str
    status: str  # holds | fails | uncertain | inconclusive | not applicable (family not in applies_to)
    n: int
    observed: float | None  # of the binding condition (the deciding one with the smallest margin)
    threshold: float | None
    margin: float | None
    ci: tuple[float, float] | None
    conditions: tuple[ConditionResult, ...] = ()
    reason: str = ""
    noise: dict | None = None  # condition name -> NoiseRange (when judged with noise=)
    samples_needed: int | None = None  # uncertain: about how many samples would settle it

    @property
    def within_noise(self) -> bool:
        """Float noise alone could give this verdict another status (``status_can_flip``)."""
        if not self.noise:
            return False
        ops = {c.name: (c.op, c.threshold) for c in self.conditions}
        return status_can_flip(self.status, [
            reachable_statuses(*ops[name], *interval_ranges(r.ci, r.observed))
            for name, r in self.noise.items() if name in ops])

    @property
    def passed(self) -> bool:
        """Does not fail a run: it holds, or the claim does not apply to the model's family."""
        return self.status in ("holds", NOT_APPLICABLE)

    def gate(self, uncertain: str = "fail") -> bool:
        """Passes a CI gate: ``passed``, or uncertain when ``uncertain='allow'``."""
        return self.passed or (uncertain == "allow" and self.status == "uncertain")

    @property
    def binding(self) -> ConditionResult | None:
        """The condition that decides the status: among those with the verdict's status, the
        one with the smallest margin."""
        by_name = {c.name: c for c in self.conditions}
        name = deciding({c.name: (c.status, c.margin) for c in self.conditions}, self.status)
        return by_name.get(name)


def _margin(observed: float, op: str, threshold: float) -> float:
    return threshold - observed if op == "<=" else observed - threshold


def _inconclusive(spec, task, n, reason) -> Verdict:
    return Verdict(spec.id, spec.version, task, "inconclusive", n, None, None, None, None, (), reason)


def _margin_range(lo: float, hi: float, op: str, threshold: float) -> tuple[float, float]:
    a, b = _margin(lo, op, threshold), _margin(hi, op, threshold)
    return (min(a, b), max(a, b))


def judge(spec: ClaimSpec, evidence: Evidence, family: str, task: str = POOLED,
          n_bootstrap: int = N_BOOTSTRAP, seed: int = BOOTSTRAP_SEED,
          noise: Noise | None = None, not_applicable: dict | None = None) -> Verdict:
    """One verdict for ``spec`` on the rows of ``task`` ('all' pools every task).

    ``noise``: also compute, per condition, the range every number can take when the
    per-sample curves move by up to that much (``Verdict.noise``). ``not_applicable``:
    {claim id: reason} of claims the model cannot be measured for (run.json records them,
    e.g. related patches on a model without an image layout)."""
    if not spec.applies(family):
        return Verdict(spec.id, spec.version, task, NOT_APPLICABLE, 0, None, None, None, None, (),
                       f"the claim applies to {', '.join(spec.applies_to)}, not to family {family!r}")
    if spec.id in (not_applicable or {}):
        return Verdict(spec.id, spec.version, task, NOT_APPLICABLE, 0, None, None, None, None, (),
                       not_applicable[spec.id])
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
    for start in range(0, n_bootstrap, BOOTSTRAP_CHUNK):  # means of a chunk of resamples at once
        batch = draws[start:start + BOOTSTRAP_CHUNK]
        means = {k: np.nanmean(v[batch], axis=1) for k, v in rows.items()}  # (chunk, n_layers)
        boot += [statistics_on({k: m[b] for k, m in means.items()}) for b in range(len(batch))]
    boot = np.array(boot)  # (B, conditions, 3)
    if not (np.isfinite(boot[:, :, 0]).all() and all(np.isfinite(o[0]) for o in observed)):
        return _inconclusive(spec, task, n, "a statistic is not a finite number on these samples "
                                            "(a curve of NaN or inf); no verdict is drawn from it")
    results, spread = [], {}
    for i, c in enumerate(spec.conditions):
        t = thresholds[c.name]
        lo, hi = np.percentile(boot[:, i, 0], [2.5, 97.5])
        value, low, high = observed[i]
        lo, hi = float(min(lo, value)), float(max(hi, value))  # the interval contains the value
        m = _margin(value, c.op, t)
        state = condition_status(c.op, t, lo, hi)
        need = samples_needed(n, value, c.op, t, (lo, hi)) if state == "uncertain" else None
        results.append(ConditionResult(c.name, c.statistic, float(value), c.op, t, float(m),
                                       (lo, hi), m >= 0, state, need))
        if noise is not None:  # order statistics are monotone: bounds of each resample bound them
            lo_range = tuple(float(x) for x in np.percentile(boot[:, i, 1:], 2.5, axis=0))
            hi_range = tuple(float(x) for x in np.percentile(boot[:, i, 1:], 97.5, axis=0))
            spread[c.name] = NoiseRange((float(low), float(high)),
                                        _margin_range(low, high, c.op, t), (lo_range, hi_range))
    status = combine(r.status for r in results)
    name = deciding({r.name: (r.status, r.margin) for r in results}, status)
    binding = next(r for r in results if r.name == name)
    need = None
    if status == "uncertain":
        needs = [r.samples_needed for r in results if r.status == "uncertain"]
        need = None if None in needs else max(needs)
    return Verdict(spec.id, spec.version, task, status, n, binding.observed, binding.threshold,
                   binding.margin, binding.ci, tuple(results),
                   noise=spread if noise is not None else None, samples_needed=need)


def judge_all(specs, evidence: Evidence, family: str, tasks=None, **kw) -> list[Verdict]:
    """Verdicts per claim for each task type present (or ``tasks``) and pooled."""
    tasks = sorted(set(evidence.tasks.tolist())) if tasks is None else list(tasks)
    return [judge(s, evidence, family, t, **kw) for s in specs for t in [*tasks, POOLED]]
