"""syrupy extension for verdict snapshots: JSON, one folder per model, numbers compared
so that float noise can never fail a test and a real change always can.

Use: ``snapshot(extension_class=verdict_snapshot(model_name, noise_ranges(verdict)))``.

The rule (docs/trust.md: "Snapshots and float noise"). Stored numbers are rounded to ``DIGITS``
decimals (a step of ``STEP``). A stored number matches the new one when

- it lies within the new number's noise range (what float noise of the measured size can
  make of it: ``Verdict.noise``, computed by the judge) widened by one rounding step, or
- it is within ``RTOL`` of it (1%: small real movements of large numbers are not failures).

Without noise ranges (a plain dict), the range is the number +- ``VERDICT_NOISE``, the
most float noise moves a verdict number whose statistic has no discrete step, so the
absolute tolerance is ``ATOL = STEP + VERDICT_NOISE``. Discrete statistics (the layer of a
curve's strongest drop on a flat curve) can jump under noise; only their noise ranges
cover that. A condition's ``holds`` may differ only where noise can move its margin across
0, its ``status`` (and the verdict's) only where noise can move an interval bound across
the threshold; the verdict's top-level numbers may belong to any condition that noise could
make the binding one. ``samples_needed`` is derived from the compared numbers and is not
compared itself.
"""
from __future__ import annotations

import math

from .judge import deciding, interval_ranges, reachable_statuses, status_can_flip
from .noise import NOISE_PP
from .serialise import DIGITS

STEP = 10.0 ** -DIGITS
VERDICT_NOISE = 2 * NOISE_PP  # a difference of two noisy means (min_gap) moves twice the noise
ATOL, RTOL = STEP + VERDICT_NOISE, 1e-2
_SLACK = 1e-12  # binary floating point: 0.065 - 0.064 is 0.0010000000000000009


def _is_number(x) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def close(a, b, atol: float = ATOL, rtol: float = RTOL) -> bool:
    """Structural equality with numbers within ``max(atol, rtol * max(|a|, |b|))``."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if _is_number(a) and _is_number(b):
        return math.isclose(a, b, abs_tol=atol + _SLACK, rel_tol=rtol)
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(close(a[k], b[k], atol, rtol) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(close(x, y, atol, rtol) for x, y in zip(a, b))
    return a == b


def mismatches(a, b, atol: float = ATOL, rtol: float = RTOL, path: str = "") -> list[str]:
    """Paths (``conditions.x.margin: new vs stored``) where ``a`` and ``b`` are not ``close``."""
    if isinstance(a, dict) and isinstance(b, dict) and a.keys() == b.keys():
        return [m for k in sorted(a) for m in mismatches(a[k], b[k], atol, rtol, f"{path}.{k}".lstrip("."))]
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return [m for i, (x, y) in enumerate(zip(a, b)) for m in mismatches(x, y, atol, rtol, f"{path}[{i}]")]
    return [] if close(a, b, atol, rtol) else [f"{path}: {a!r} vs {b!r}"]


def _in_range(stored, rng) -> bool:
    return _is_number(stored) and rng[0] - STEP - _SLACK <= stored <= rng[1] + STEP + _SLACK


def _number_matches(new, stored, rng) -> bool:
    """Within the new number's noise range (widened by a rounding step) or 1%; without a
    range, the plain tolerance ``close``."""
    if rng is None:
        return close(new, stored)
    return close(new, stored, atol=STEP, rtol=RTOL) or _in_range(stored, rng)


def _condition_mismatches(new: dict, stored: dict, rng: dict | None, path: str) -> list[str]:
    out = []
    for key in sorted(set(new) | set(stored)):
        a, b = new.get(key), stored.get(key)
        if key in ("observed", "margin"):
            ok = _number_matches(a, b, rng[key] if rng else None)
        elif key == "ci95" and isinstance(a, list) and isinstance(b, list) and len(a) == len(b) == 2:
            ok = all(_number_matches(x, y, rng["ci95"][i] if rng else None)
                     for i, (x, y) in enumerate(zip(a, b)))
        elif key == "holds":
            ok = a == b or bool(rng and rng["margin"][0] < 0 <= rng["margin"][1])
        elif key == "status":
            ok = a == b or (rng is not None and b in _reachable(new, rng))
        elif key == "samples_needed":
            ok = True  # derived from observed and ci95, which are compared
        else:
            ok = close(a, b)
        if not ok:
            out.append(f"{path}{key}: {a!r} vs {b!r}")
    return out


def claim_changed(new: dict, stored: dict) -> str | None:
    """'claim changed: <id> v1 -> v2 ...' when both record a claim version and they differ."""
    if not (isinstance(new, dict) and isinstance(stored, dict)):
        return None
    if "version" in new and "version" in stored and new["version"] != stored["version"]:
        return (f"claim changed: {new.get('claim', '?')} v{stored['version']} -> v{new['version']} "
                "(the spec is not the one the snapshot measured; not a regression of the model); "
                "re-record with --snapshot-update")
    return None


def verdict_mismatches(new: dict, stored: dict, noise: dict | None = None) -> list[str]:
    """What differs between a new verdict dict and a stored one beyond noise (empty: match).
    A different claim version is one mismatch, "claim changed" (nothing else is compared).

    ``noise``: {condition: {"observed": [lo, hi], "margin": [lo, hi], "ci95": [[lo, hi],
    [lo, hi]]}} of the new verdict (``report.verdicts.noise_ranges``)."""
    changed = claim_changed(new, stored)
    if changed:
        return [changed]
    if not (isinstance(new, dict) and isinstance(stored, dict) and "conditions" in new
            and "conditions" in stored and new["conditions"].keys() == stored["conditions"].keys()):
        return mismatches(new, stored)
    noise = noise or {}
    conds_new, conds_old = new["conditions"], stored["conditions"]
    out = []
    for name in sorted(conds_new):
        out += _condition_mismatches(conds_new[name], conds_old[name], noise.get(name),
                                     f"conditions.{name}.")
    for key in sorted(set(new) | set(stored)):
        if key in ("conditions", "observed", "threshold", "margin", "ci95", "status",
                   "samples_needed"):
            continue
        if not close(new.get(key), stored.get(key)):
            out.append(f"{key}: {new.get(key)!r} vs {stored.get(key)!r}")
    if new.get("status") != stored.get("status") and not _status_can_flip(new, noise):
        out.append(f"status: {new.get('status')!r} vs {stored.get('status')!r}")
    out += _binding_mismatches(new, stored, noise)
    return out


def _reachable(condition: dict, rng: dict) -> set[str]:
    """The statuses float noise can give a condition (its interval widened to contain the
    observed value, as the judge does)."""
    return reachable_statuses(condition["op"], condition["threshold"],
                              *interval_ranges(rng["ci95"], rng["observed"]))


def _status_can_flip(new: dict, noise: dict) -> bool:
    if not noise or set(noise) != set(new["conditions"]):
        return False
    conds = new["conditions"]
    return status_can_flip(new.get("status"), [_reachable(conds[c], noise[c]) for c in conds])


def _binding_mismatches(new: dict, stored: dict, noise: dict) -> list[str]:
    """The top-level numbers repeat the binding condition's; noise may change which it is."""
    top = {k: stored.get(k) for k in ("observed", "threshold", "margin", "ci95")}
    conds = new["conditions"]
    if not conds:
        return [f"{k}: {new.get(k)!r} vs {v!r}" for k, v in top.items() if not close(new.get(k), v)]
    status = new.get("status")
    if noise and set(noise) == set(conds):  # any condition noise could make the deciding one
        candidates = []
        for s in dict.fromkeys([status, stored.get("status")]):  # noise may flip the verdict itself
            able = [c for c in conds if s in _reachable(conds[c], noise[c])] or list(conds)
            lowest_high = min(noise[c]["margin"][1] for c in able)
            candidates += [c for c in able if noise[c]["margin"][0] <= lowest_high and c not in candidates]
    else:  # the deciding one (claims.judge.deciding)
        candidates = [deciding({c: (d.get("status", status), d["margin"]) for c, d in conds.items()},
                               status)]
    for c in candidates:
        mine = {k: conds[c].get(k) for k in top}
        if not _condition_mismatches(mine, top, noise.get(c) if noise else None, ""):
            return []
    return [f"binding condition ({', '.join(candidates)}): observed/threshold/margin/ci95 "
            f"{[new.get(k) for k in top]} vs {list(top.values())}"]
