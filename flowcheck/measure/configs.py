"""Knockout configs: every (flow, window) pair a sweep measures, in a fixed order."""
from __future__ import annotations

from dataclasses import dataclass

from ..registry import Registry
from .flows import parse_flow
from .windows import windows

ENGINES = Registry("engine", ("fast", "exact"))  # fast.py and exact.py: same numbers, different work
# Bump an engine's version when a change to it could change a stored number: rows measured
# by another version are measured again, never reused.
ENGINE_VERSIONS = {"fast": 1, "exact": 1}


def engine_probabilities(engine: str):
    """The engine's ``probabilities(handle, enc, clean, configs) -> [p(answer) per config]``."""
    ENGINES.get_or_raise(engine)
    if engine == "fast":
        from .fast import fast_probabilities
        return fast_probabilities
    from .exact import exact_probabilities
    return exact_probabilities


@dataclass(frozen=True)
class KnockoutConfig:
    flow: str
    centre: int
    layers: range


def plan_configs(flows, n_layers: int, k: int | None = None) -> list[KnockoutConfig]:
    """Every flow x every window centre 0..L-1."""
    names = [parse_flow(f).name for f in flows]
    return [KnockoutConfig(f, c, w) for f in names for c, w in enumerate(windows(n_layers, k))]
