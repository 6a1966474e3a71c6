"""Verdicts <-> rounded, sorted, human-readable JSON (the snapshot and verdicts.json form)."""
from __future__ import annotations

import json
import math

from .judge import Verdict

DIGITS = 3


def _round(x):
    if x is None:
        return None
    if isinstance(x, (tuple, list)):
        return [_round(v) for v in x]
    if isinstance(x, float) and not math.isfinite(x):
        return str(x)
    return round(float(x), DIGITS) + 0.0  # + 0.0: no '-0.0'


def verdict_to_dict(v: Verdict) -> dict:
    return {"status": v.status, "n": v.n, "observed": _round(v.observed),
            "threshold": v.threshold, "margin": _round(v.margin), "ci95": _round(v.ci),
            "reason": v.reason, "samples_needed": v.samples_needed,
            "conditions": {c.name: {"statistic": c.statistic, "observed": _round(c.observed),
                                    "op": c.op, "threshold": c.threshold,  # as the spec says
                                    "margin": _round(c.margin), "ci95": _round(c.ci),
                                    "holds": c.holds, "status": c.status,
                                    "samples_needed": c.samples_needed} for c in v.conditions}}


def noise_ranges(v: Verdict) -> dict | None:
    """{condition: {"observed", "margin": [lo, hi], "ci95": [[lo, hi], [lo, hi]]}}: what float
    noise can make of each number (unrounded; what the snapshot comparison widens by)."""
    if not v.noise:
        return None
    return {name: {"observed": list(r.observed), "margin": list(r.margin),
                   "ci95": [list(r.ci[0]), list(r.ci[1])]} for name, r in v.noise.items()}


def verdicts_to_dict(verdicts) -> dict:
    """{claim: {"version": v, "tasks": {task: verdict dict}}}, keys sorted."""
    out: dict = {}
    for v in verdicts:
        entry = out.setdefault(v.claim, {"version": v.version, "tasks": {}})
        entry["tasks"][v.task] = verdict_to_dict(v)
    return out


def dumps(data: dict) -> str:
    return json.dumps(data, indent=1, sort_keys=True) + "\n"
