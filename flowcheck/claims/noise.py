"""The float-noise bounds of stored numbers, and reading one from the user.

A verdict is judged "within float noise" when noise of this size could flip it, and the
snapshot / baseline rule (``claims.equivalence``) lets numbers move by this much. Measured
on the three shipped models (docs/trust.md: "Snapshots and float noise"); the analysis that measures
it between two runs is ``analysis.noise``.
"""
from __future__ import annotations

import math

from ..errors import UsageError

# Bound on |difference| of a stored number between float32 runs that should agree: more
# than twice the largest measured (8.7e-4 pp on the knockout curves, 6.9e-6 on the lens,
# over the three shipped models x {2 vs 1 threads, sdpa vs eager, fast vs exact engine,
# this machine vs the one that recorded the committed runs}; docs/trust.md). Knockout curves:
# relative change of p(answer) in percentage points; lens: probability.
NOISE_PP = 2e-3
NOISE_LENS = 2e-5

# Half precision moves the knockout numbers far more. Measured on this project's CPU (no GPU
# was available): the paper-route model, 12 correctly answered samples x 72 configs, fast vs
# exact engine in the same dtype: float16 0.50 pp, bfloat16 5.35 pp (exact engine in the
# dtype vs float32: 0.57 pp and 4.73 pp). The bound is twice the largest, as for float32;
# a run in half precision uses it unless --noise says otherwise. GPU kernels differ:
# measure yours with two runs and `flowcheck compare --noise`.
DTYPE_NOISE_PP = {"float32": NOISE_PP, "float16": 1.0, "bfloat16": 11.0}


def parse_noise(value=None):
    """A ``Noise`` bound from None (the measured float32 default), "PP" or "PP,LENS" (text
    from the command line or an ini file) or a (pp, lens) pair."""
    from ..claims.statistics import Noise
    if value is None or value == "":
        return Noise(NOISE_PP, NOISE_LENS)
    parts = [p.strip() for p in value.split(",")] if isinstance(value, str) else list(value)
    try:
        numbers = [float(p) for p in parts]
    except (TypeError, ValueError):
        numbers = []
    if len(numbers) not in (1, 2) or any(not (x >= 0 and math.isfinite(x)) for x in numbers):
        raise UsageError(f"noise bound {value!r} is not PP or PP,LENS with numbers >= 0; write e.g. "
                         f"'{NOISE_PP},{NOISE_LENS}' (percentage points of the knockout curves, "
                         "lens probability); measure yours with `flowcheck compare --noise A B`")
    return Noise(numbers[0], numbers[1] if len(numbers) == 2 else NOISE_LENS)


def run_noise(noise, dtype: str = "float32"):
    """The bound a run records: the one given (``--noise``), else the one measured for a half
    precision ``dtype``, else None (float32: the default bound, ``NOISE_PP``/``NOISE_LENS``)."""
    if noise not in (None, ""):
        return parse_noise(noise)
    if dtype != "float32":
        from ..claims.statistics import Noise
        return Noise(DTYPE_NOISE_PP[dtype], NOISE_LENS)
    return None
