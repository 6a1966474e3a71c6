"""The statistics a claim condition is judged on, computed from per-layer mean curves.

Inputs are mean curves over samples, one value per layer (window centre for knockouts):
``curves["image->question"]`` is the mean relative change of p(answer) in percent when the
window centred at each layer is knocked out; ``curves["lens:lower"]`` and
``curves["lens:capitalised"]`` are mean logit-lens probabilities of the lower-case and
capitalised first answer token at each layer. Layer ranges are depth fractions [lo, hi].
Pure numpy: the judge bootstraps by recomputing a statistic on resampled means.

Float noise: ``evaluate(..., noise=Noise(pp, lens))`` also returns the range of values the
statistic can take when every mean curve moves by up to ``pp`` percentage points (knockout
curves) and ``lens`` (lens probabilities). The discrete steps (the layer of a curve's
strongest drop, the layer where a lens curve first rises) enumerate every layer that noise
could make the answer; the rest widens by the statistic's declared sensitivity.
"""
from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass
from functools import lru_cache
from typing import Callable, NamedTuple

import numpy as np

from ..errors import SpecError
from ..registry import Registry


class Noise(NamedTuple):
    """How far each mean curve may move: knockout curves (pp), lens probabilities."""

    pp: float
    lens: float


class _Chooser:
    """Follows a prefix of choices at the discrete steps, then takes the first candidate and
    records the alternatives, so ``_enumerate`` can visit every combination."""

    def __init__(self, noise: Noise, prefix: list[int]):
        self.noise, self.prefix, self.taken, self.branches = noise, prefix, [], []

    def pick(self, candidates: list[int]) -> int:
        i = len(self.taken)
        choice = self.prefix[i] if i < len(self.prefix) else candidates[0]
        if i >= len(self.prefix):
            self.branches.append((i, candidates[1:]))
        self.taken.append(choice)
        return choice


_CHOOSER: ContextVar["_Chooser | None"] = ContextVar("flowcheck_chooser", default=None)

LENS_TOKENS = ("lower", "capitalised")


def layer_indices(rng: tuple[float, float], n_layers: int) -> np.ndarray:
    """Layer indices whose depth fraction l/(L-1) lies in [lo, hi] (never empty: nearest)."""
    return _layer_indices(float(rng[0]), float(rng[1]), n_layers)


@lru_cache(maxsize=None)
def _layer_indices(lo: float, hi: float, n_layers: int) -> np.ndarray:
    rng = (lo, hi)
    depth = np.arange(n_layers) / max(1, n_layers - 1)
    idx = np.flatnonzero((depth >= rng[0] - 1e-9) & (depth <= rng[1] + 1e-9))
    if len(idx) == 0:
        idx = np.array([int(np.argmin(np.abs(depth - (rng[0] + rng[1]) / 2)))])
    idx.flags.writeable = False  # shared by every call with these arguments
    return idx


def _depth(i: int, n_layers: int) -> float:
    return i / max(1, n_layers - 1)


def _argmin_in(curve: np.ndarray, rng, n: int) -> int:
    """Layer of the curve's strongest drop in the range (under noise: any layer within
    twice the noise of the minimum, the noiseless answer first)."""
    idx = layer_indices(rng, n)
    best = int(idx[np.argmin(curve[idx])])
    chooser = _CHOOSER.get()
    if chooser is None:
        return best
    near = idx[curve[idx] <= curve[best] + 2 * chooser.noise.pp]
    return chooser.pick([best] + [int(i) for i in near if i != best])


def _rise(curve: np.ndarray, level: float) -> int:
    """First layer where the (lens) curve reaches ``level`` x its maximum (under noise: every
    layer that could be the first one, the noiseless answer first)."""
    first = int(np.flatnonzero(curve >= level * curve.max())[0])
    chooser = _CHOOSER.get()
    if chooser is None:
        return first
    d, top = chooser.noise.lens, curve.max()
    can_reach = curve + d >= level * (top - d)
    can_stay_below = np.cumprod(np.r_[True, curve[:-1] - d < level * (top + d)]).astype(bool)
    options = np.flatnonzero(can_reach & can_stay_below)
    return chooser.pick([first] + [int(i) for i in options if i != first])


@dataclass(frozen=True)
class Statistic:
    """``fn(curves, ranges, n_layers, **args) -> float``; ``schema`` types the args.

    ``sensitivity``: how far the value can move, with its discrete choices fixed, per unit
    of noise on the knockout curves and on the lens curves ((pp, lens) multipliers), or a
    function ``(value, curves, ranges, n, noise, **args) -> half-width`` where no constant
    bounds it."""

    fn: Callable
    schema: dict  # arg name -> "flow" | "flows" | "range" | "number" | "token"
    lens_tokens: tuple = ()  # lens curves always read, whatever the args
    sensitivity: tuple | Callable = (0.0, 0.0)
    bounds: tuple = (-np.inf, np.inf)  # the values it can take at all (a threshold outside: never met)

    def evaluate(self, curves, ranges, n: int, args: dict, noise: Noise | None = None):
        """(value, lo, hi): the value on these curves, and the range it can take when each
        curve moves by up to ``noise`` (lo = hi = value without noise)."""
        if noise is None:
            v = self.fn(curves, ranges, n, **args)
            return v, v, v
        values, first = [], None
        for value in _enumerate(lambda: self.fn(curves, ranges, n, **args), noise):
            first = value if first is None else first
            values.append(value)
        if callable(self.sensitivity):
            half = max(self.sensitivity(v, curves, ranges, n, noise, **args) for v in values)
        else:
            half = self.sensitivity[0] * noise.pp + self.sensitivity[1] * noise.lens
        return first, min(values) - half, max(values) + half

    @property
    def doc(self) -> str:
        return " ".join((self.fn.__doc__ or "").split())

    def arg_keys(self, name: str, args: dict) -> list[str]:
        """The curves one argument names: a flow, a list of flows, or a token ('lens:<token>');
        [] for a range or a number."""
        kind, value = self.schema[name], args[name]
        return {"flow": [value], "flows": list(value) if kind == "flows" else [],
                "token": [f"lens:{value}"]}.get(kind, [])

    def keys(self, args: dict) -> list[str]:
        """The curves this statistic reads (flows, or 'lens:<token>')."""
        out = [k for name in self.schema for k in self.arg_keys(name, args)]
        out.extend(f"lens:{t}" for t in self.lens_tokens)
        return list(dict.fromkeys(out))

    def check_args(self, args: dict, ranges: dict, flows: tuple) -> None:
        missing = [a for a in self.schema if a not in args]
        if missing:
            raise SpecError(f"missing argument {missing[0]!r}; this statistic takes "
                             f"{', '.join(self.schema)}")
        extra = [a for a in args if a not in self.schema]
        if extra:
            raise SpecError(f"unknown argument {extra[0]!r}; this statistic takes "
                             f"{', '.join(self.schema)}")
        for name, kind in self.schema.items():
            v = args[name]
            if kind in ("flow", "range", "token") and not isinstance(v, str):
                raise SpecError(f"{name}={v!r} must be a name")
            if kind == "flow" and v not in flows:
                raise SpecError(f"{name}={v!r} is not among the claim's flows {list(flows)}")
            if kind == "flows" and (not isinstance(v, list) or any(f not in flows for f in v)):
                raise SpecError(f"{name}={v!r} must be a list of the claim's flows {list(flows)}")
            if kind == "range" and v not in ranges:
                raise SpecError(f"{name}={v!r} is not a layer range of the claim; "
                                 f"defined: {', '.join(ranges) or 'none'}")
            if kind == "number" and (isinstance(v, bool) or not isinstance(v, (int, float))):
                raise SpecError(f"{name}={v!r} must be a number")
            if kind == "token" and v not in LENS_TOKENS:
                raise SpecError(f"{name}={v!r} must be one of {LENS_TOKENS}")


def _enumerate(fn, noise: Noise):
    """Every value ``fn`` takes over all combinations of its noise-reachable choices (the
    noiseless path first)."""
    todo = [[]]
    while todo:
        chooser = _Chooser(noise, todo.pop(0))
        token = _CHOOSER.set(chooser)
        try:
            value = fn()
        finally:
            _CHOOSER.reset(token)
        yield value
        for depth, alternatives in chooser.branches:
            todo.extend(chooser.taken[:depth] + [a] for a in alternatives)


def min_mean(curves, ranges, n, *, flow, layers):
    """Strongest mean drop (most negative %) of ``flow`` in the layer range."""
    return float(curves[flow][layer_indices(ranges[layers], n)].min())


def max_abs_mean(curves, ranges, n, *, flow, layers):
    """Largest mean |change| (%) of ``flow`` in the layer range."""
    return float(np.abs(curves[flow][layer_indices(ranges[layers], n)]).max())


def argmin_depth(curves, ranges, n, *, flow, layers):
    """Depth fraction of the layer where ``flow``'s mean drop is strongest."""
    return _depth(_argmin_in(curves[flow], ranges[layers], n), n)


def depth_gap(curves, ranges, n, *, first, first_layers, second, second_layers):
    """Depth of ``second``'s strongest drop minus depth of ``first``'s (> 0: later)."""
    return (_depth(_argmin_in(curves[second], ranges[second_layers], n), n)
            - _depth(_argmin_in(curves[first], ranges[first_layers], n), n))


def valley_separation(curves, ranges, n, *, flow, first, second):
    """Two separate dips: with e, j the strongest drops in the two ranges (e < j) and r the
    highest point between them, min(m[r] - m[e], m[r] - m[j]) in percentage points
    (how far the curve recovers between the dips); 0 when the dips do not come in order."""
    m = curves[flow]
    e, j = _argmin_in(m, ranges[first], n), _argmin_in(m, ranges[second], n)
    if j <= e + 1:
        return 0.0
    rebound = m[e:j + 1].max()
    return float(min(rebound - m[e], rebound - m[j]))


def abs_ratio(curves, ranges, n, *, flow, layers, reference, reference_layers):
    """max |mean change| of ``flow`` / |strongest mean drop of ``reference``|."""
    small = max_abs_mean(curves, ranges, n, flow=flow, layers=layers)
    big = abs(min(0.0, min_mean(curves, ranges, n, flow=reference, layers=reference_layers)))
    return float(small / max(big, 1e-9)) if small > 0 else 0.0


def _abs_ratio_spread(value, curves, ranges, n, noise, *, flow, layers, reference, reference_layers):
    """How far small/big can move when both move by up to the noise (inf near big = 0)."""
    small = max_abs_mean(curves, ranges, n, flow=flow, layers=layers)
    big = abs(min(0.0, min_mean(curves, ranges, n, flow=reference, layers=reference_layers)))
    if big - noise.pp <= 1e-9:
        return float("inf")
    return (small + noise.pp) / (big - noise.pp) - small / max(big, 1e-9)


def min_gap(curves, ranges, n, *, flow, others, layers):
    """Strongest drop of ``flow`` minus the strongest drop of any of ``others`` in the range
    (< 0: ``flow`` lowers p(answer) most of all)."""
    return (min_mean(curves, ranges, n, flow=flow, layers=layers)
            - min(min_mean(curves, ranges, n, flow=o, layers=layers) for o in others))


def lens_peak(curves, ranges, n, *, token, layers):
    """Highest mean logit-lens probability of the ``token`` form in the layer range."""
    return float(curves[f"lens:{token}"][layer_indices(ranges[layers], n)].max())


def lens_rise_gap(curves, ranges, n, *, level):
    """Depth where the lower-case form first reaches ``level`` x its peak, minus the same
    for the capitalised form (< 0: lower case rises first)."""
    lower, cap = curves["lens:lower"], curves["lens:capitalised"]
    return _depth(_rise(lower, level), n) - _depth(_rise(cap, level), n)


def lens_top_margin(curves, ranges, n):
    """p(capitalised) - p(lower case) at the top layer (> 0: the capitalised form wins)."""
    return float(curves["lens:capitalised"][-1] - curves["lens:lower"][-1])


def stage_order(curves, ranges, n, *, early, early_layers, middle, middle_layers, level):
    """Largest backwards step in the stage sequence image->question dip, question->last dip,
    capitalised answer rise (depth fractions; <= 0: the stages come in order)."""
    d1 = _depth(_argmin_in(curves[early], ranges[early_layers], n), n)
    d2 = _depth(_argmin_in(curves[middle], ranges[middle_layers], n), n)
    d3 = _depth(_rise(curves["lens:capitalised"], level), n)
    return float(max(d1 - d2, d2 - d3))


STATISTICS = Registry("statistic", {
    "min_mean": Statistic(min_mean, {"flow": "flow", "layers": "range"}, sensitivity=(1, 0),
                          bounds=(-100.0, np.inf)),  # p cannot fall below 0: -100%
    "max_abs_mean": Statistic(max_abs_mean, {"flow": "flow", "layers": "range"}, sensitivity=(1, 0),
                              bounds=(0.0, np.inf)),
    "argmin_depth": Statistic(argmin_depth, {"flow": "flow", "layers": "range"}, bounds=(0.0, 1.0)),
    "depth_gap": Statistic(depth_gap, {"first": "flow", "first_layers": "range", "second": "flow",
                                       "second_layers": "range"}, bounds=(-1.0, 1.0)),
    "valley_separation": Statistic(valley_separation, {"flow": "flow", "first": "range",
                                                       "second": "range"}, sensitivity=(2, 0),
                                   bounds=(0.0, np.inf)),
    "abs_ratio": Statistic(abs_ratio, {"flow": "flow", "layers": "range", "reference": "flow",
                                       "reference_layers": "range"}, sensitivity=_abs_ratio_spread,
                           bounds=(0.0, np.inf)),
    "min_gap": Statistic(min_gap, {"flow": "flow", "others": "flows", "layers": "range"},
                         sensitivity=(2, 0)),
    "lens_peak": Statistic(lens_peak, {"token": "token", "layers": "range"}, sensitivity=(0, 1),
                           bounds=(0.0, 1.0)),
    "lens_rise_gap": Statistic(lens_rise_gap, {"level": "number"}, LENS_TOKENS, bounds=(-1.0, 1.0)),
    "lens_top_margin": Statistic(lens_top_margin, {}, LENS_TOKENS, sensitivity=(0, 2), bounds=(-1.0, 1.0)),
    "stage_order": Statistic(stage_order, {"early": "flow", "early_layers": "range", "middle": "flow",
                                           "middle_layers": "range", "level": "number"},
                             ("capitalised",), bounds=(-1.0, 1.0)),
})
