"""Calibration on the one real curve at hand: the paper's official code run unmodified on
LLaVA-1.5-7b (ChooseAttr, question->last, window k = 9), as a third party committed it; the
mean line and the 95% band were read off the plot's vector paths (window centre 0..31).

Fed to flowcheck's statistics, ``question_to_last_middle``'s middle-drop condition must
hold on it with the ``llava`` thresholds and the claim's depth range must contain the dip.
Only question->last was plotted, so the claim's second condition (question->last is the
strongest flow into the last position) cannot be checked on it.
"""
from dataclasses import replace

import numpy as np
import pytest

from flowcheck.claims.judge import Evidence, judge
from flowcheck.claims.spec import load_claims
from flowcheck.claims.statistics import argmin_depth, layer_indices

N_LAYERS = 32
# window centre -> mean relative change of p(answer), %, and the 95% band where it was drawn
DIGITISED = {7: -2.8, 8: -5.9, 9: -7.3, 10: -46.5, 11: -35.6, 12: -38.2, 13: -36.9, 14: -29.3,
             16: -23.5, 18: -22.5, 20: -16.6, 22: -12.9, 24: -4.1, 25: -0.4}
BAND = {8: (-6.5, -5.3), 9: (-8.0, -6.6), 10: (-48.6, -44.6), 11: (-37.5, -33.8),
        12: (-39.8, -36.5), 13: (-38.3, -35.4), 14: (-30.7, -27.9), 16: (-24.8, -22.2),
        18: (-24.1, -20.8), 20: (-18.6, -14.7), 22: (-14.9, -10.8), 24: (-5.8, -2.6)}


def official_mean_curve() -> np.ndarray:
    """32 centres: the digitised points, 0 to -1.0 over centres 0-6 and +0.5 to +1.8 over
    26-31 as read, linear in between the read centres (15, 17, ...)."""
    known = {**{c: -c / 6 for c in range(7)}, **DIGITISED,
             **{c: 0.5 + 1.3 * (c - 26) / 5 for c in range(26, 32)}}
    xs = sorted(known)
    return np.interp(np.arange(N_LAYERS), xs, [known[x] for x in xs])


def official_samples(n: int = 200, seed: int = 0) -> np.ndarray:
    """(n, 32) per-sample curves whose mean is the official curve and whose 95% interval of
    the mean has the plotted half-width (1.0 where no band was drawn)."""
    half = np.interp(np.arange(N_LAYERS), sorted(BAND),
                     [(BAND[c][1] - BAND[c][0]) / 2 for c in sorted(BAND)], left=1.0, right=1.0)
    z = np.random.default_rng(seed).standard_normal((n, N_LAYERS))
    z = (z - z.mean(0)) / z.std(0, ddof=1)  # exactly mean 0, sd 1 per layer
    return official_mean_curve() + z * half * np.sqrt(n) / 1.96


SPEC = load_claims(ids=["question_to_last_middle"])[0]


def test_the_claims_depth_range_contains_the_official_dip():
    mean = official_mean_curve()
    dip = int(np.argmin(mean))
    assert dip == 10 and mean[dip] == pytest.approx(-46.5)
    lo, hi = SPEC.layer_range("middle_upper")
    assert lo <= dip / (N_LAYERS - 1) <= hi  # 10/31 = 0.32 in [0.3, 0.8]
    assert dip in layer_indices((lo, hi), N_LAYERS)
    curves = {"question->last": mean}
    assert argmin_depth(curves, {"r": (lo, hi)}, N_LAYERS, flow="question->last", layers="r") \
        == pytest.approx(10 / 31)


def test_the_middle_drop_condition_holds_on_the_official_curve_with_the_llava_thresholds():
    middle_drop = next(c for c in SPEC.conditions if c.name == "middle_drop")
    spec = replace(SPEC, conditions=(middle_drop,))
    rows = official_samples()
    ev = Evidence(N_LAYERS, np.array(["ChooseAttr"] * len(rows)), {"question->last": rows})
    v = judge(spec, ev, "llava", task="ChooseAttr")
    assert v.status == "holds", v
    c = v.conditions[0]
    assert c.threshold == SPEC.thresholds_for("llava")["middle_drop"] == -20
    assert c.observed == pytest.approx(-46.5)
    # the synthetic samples reproduce the plotted band of the dip, so the interval is the plot's
    assert c.ci[0] == pytest.approx(-48.6, abs=0.6) and c.ci[1] == pytest.approx(-44.6, abs=0.6)
    assert c.margin == pytest.approx(26.5)


def test_the_official_curve_would_hold_even_on_few_samples():
    """With 30 samples of the same spread the interval widens about 2.6x and still clears -20."""
    middle_drop = next(c for c in SPEC.conditions if c.name == "middle_drop")
    spec = replace(SPEC, conditions=(middle_drop,))
    rows = official_samples(200)[:30]
    rows = rows - rows.mean(0) + official_mean_curve()
    v = judge(spec, Evidence(N_LAYERS, np.array(["ChooseAttr"] * 30), {"question->last": rows}), "llava")
    assert v.status == "holds" and v.ci[1] < -20
