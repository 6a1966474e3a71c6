"""Noise ranges are sound: whatever noise of the stated size does to the mean curves, every
statistic's value stays inside the range the judge computed for it (Hypothesis)."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flowcheck.claims.statistics import STATISTICS, Noise

N_LAYERS = 8
RANGES = {"early": (0.0, 0.5), "late": (0.4, 1.0), "all": (0.0, 1.0)}
FLOWS = ("a->q", "b->q", "q->l")
ARGS = {  # one argument set per statistic, over the curves below
    "min_mean": {"flow": "a->q", "layers": "early"},
    "max_abs_mean": {"flow": "b->q", "layers": "all"},
    "argmin_depth": {"flow": "a->q", "layers": "all"},
    "depth_gap": {"first": "b->q", "first_layers": "early", "second": "a->q", "second_layers": "late"},
    "valley_separation": {"flow": "a->q", "first": "early", "second": "late"},
    "abs_ratio": {"flow": "b->q", "layers": "all", "reference": "q->l", "reference_layers": "late"},
    "min_gap": {"flow": "q->l", "others": ["a->q", "b->q"], "layers": "late"},
    "lens_peak": {"token": "lower", "layers": "all"},
    "lens_rise_gap": {"level": 0.5},
    "lens_top_margin": {},
    "stage_order": {"early": "a->q", "early_layers": "early", "middle": "q->l",
                    "middle_layers": "late", "level": 0.5},
}


def test_every_statistic_is_covered():
    assert set(ARGS) == set(STATISTICS)


# Curves on a coarse grid, so ties and near-ties (where discrete choices flip) are common.
knockout_curve = st.lists(st.integers(-8, 2), min_size=N_LAYERS, max_size=N_LAYERS).map(
    lambda xs: np.array(xs, float) * 0.5e-3)
lens_curve = st.lists(st.integers(0, 6), min_size=N_LAYERS, max_size=N_LAYERS).map(
    lambda xs: np.array(xs, float) * 1e-5)


@st.composite
def curves_and_noise(draw):
    curves = {f: draw(knockout_curve) for f in FLOWS}
    curves["lens:lower"] = draw(lens_curve)
    curves["lens:capitalised"] = draw(lens_curve)
    noise = Noise(1e-3, 1e-5)
    moved = {k: v + draw(st.lists(st.floats(-1, 1), min_size=N_LAYERS, max_size=N_LAYERS)
                         .map(np.array)) * (noise.lens if k.startswith("lens:") else noise.pp)
             for k, v in curves.items()}
    moved |= {k: np.clip(v, 0, 1) for k, v in moved.items() if k.startswith("lens:")}  # probabilities
    return curves, moved, noise


@pytest.mark.parametrize("name", sorted(ARGS))
@settings(max_examples=300, deadline=None)
@given(case=curves_and_noise())
def test_a_noisy_value_stays_inside_the_noise_range(name, case):
    curves, moved, noise = case
    stat = STATISTICS[name]
    value, lo, hi = stat.evaluate(curves, RANGES, N_LAYERS, ARGS[name], noise)
    assert value == stat.fn(curves, RANGES, N_LAYERS, **ARGS[name])  # the noiseless value first
    noisy = stat.fn(moved, RANGES, N_LAYERS, **ARGS[name])
    assert lo - 1e-12 <= noisy <= hi + 1e-12, (value, lo, hi, noisy)


@pytest.mark.parametrize("name", sorted(ARGS))
def test_without_noise_the_range_is_the_value(name):
    rng = np.random.default_rng(1)
    curves = {f: rng.normal(-5, 5, N_LAYERS) for f in FLOWS}
    curves |= {"lens:lower": rng.uniform(0, 1, N_LAYERS), "lens:capitalised": rng.uniform(0, 1, N_LAYERS)}
    value, lo, hi = STATISTICS[name].evaluate(curves, RANGES, N_LAYERS, ARGS[name], None)
    assert value == lo == hi


def test_a_flat_curve_leaves_the_layer_of_its_dip_open_and_a_clear_dip_does_not():
    flat = {"a->q": np.array([1e-3, -1e-3, -1.5e-3, -5e-4, 1e-3, 1e-3, -1e-3, 1e-3])}
    clear = {"a->q": np.array([0.0, -1e-3, -30.0, -5e-4, 0.0, 0.0, -1e-3, 0.0])}
    stat, args = STATISTICS["argmin_depth"], ARGS["argmin_depth"]
    _, lo, hi = stat.evaluate(flat, RANGES, N_LAYERS, args, Noise(1e-3, 1e-5))
    assert (lo, hi) == (1 / 7, 6 / 7)  # layers 1, 2, 3 and 6 are within 2e-3 of the dip
    assert stat.evaluate(clear, RANGES, N_LAYERS, args, Noise(1e-3, 1e-5)) == (2 / 7, 2 / 7, 2 / 7)
