"""The snapshot comparison: float noise never fails it (rounding boundaries included), a
real change always does."""
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from flowcheck.claims.equivalence import ATOL, STEP, VERDICT_NOISE, close, verdict_mismatches
from flowcheck.claims.serialise import DIGITS

pytestmark = pytest.mark.fast  # the quick tier: make test-fast


def test_the_value_that_failed_on_another_machine_now_matches():
    # issue: -0.06449... here, -0.06451... where the snapshot was recorded
    assert round(-0.064499, DIGITS) == -0.064 and round(-0.064501, DIGITS) == -0.065
    assert close({"ci95": [-0.064, 0.01]}, {"ci95": [-0.065, 0.01]})


@given(x=st.floats(-1e3, 1e3), d=st.floats(-VERDICT_NOISE, VERDICT_NOISE))
def test_two_values_within_the_noise_match_after_rounding(x, d):
    a, b = round(x, DIGITS) + 0.0, round(x + d, DIGITS) + 0.0
    assert close({"v": a}, {"v": b}), (x, d, a, b)


def test_the_tolerance_is_the_rounding_step_plus_the_noise():
    assert ATOL == pytest.approx(STEP + VERDICT_NOISE)
    assert not close({"v": 0.0}, {"v": ATOL + 1e-6})  # beyond it: a change
    assert not close({"v": -0.023}, {"v": -0.5})


def _verdict(margin_related, observed_gap, status="fails"):
    return {"status": status, "n": 117, "reason": "", "observed": -0.023, "threshold": -10.0,
            "margin": -9.977, "ci95": [-0.065, 0.01],
            "conditions": {
                "related_middle_drop": {"statistic": "min_mean", "op": "<=", "threshold": -10.0,
                                        "observed": -0.023, "margin": margin_related,
                                        "ci95": [-0.065, 0.01], "holds": False},
                "later": {"statistic": "depth_gap", "op": ">=", "threshold": 0.1,
                          "observed": observed_gap, "margin": round(observed_gap - 0.1, 3),
                          "ci95": [-0.5, 0.2], "holds": observed_gap >= 0.1}}}


def _ranges(gap_range):
    return {"related_middle_drop": {"observed": [-0.025, -0.021], "margin": [-9.979, -9.975],
                                    "ci95": [[-0.067, -0.063], [0.008, 0.012]]},
            "later": {"observed": list(gap_range), "margin": [gap_range[0] - 0.1, gap_range[1] - 0.1],
                      "ci95": [[-0.5, -0.5], [0.2, 0.2]]}}


def test_a_discrete_jump_matches_only_inside_its_noise_range():
    stored, new = _verdict(-9.977, 0.182), _verdict(-9.977, 0.273)
    assert verdict_mismatches(new, stored, None)  # plain tolerance: a jump of a layer is a change
    assert not verdict_mismatches(new, stored, _ranges((0.182, 0.273)))  # noise reaches it
    assert verdict_mismatches(new, stored, _ranges((0.273, 0.364)))  # noise does not


def test_holds_may_differ_only_where_noise_moves_a_margin_across_zero():
    stored = _verdict(-9.977, 0.091)   # later: the observed value misses by 0.009
    new = _verdict(-9.977, 0.182)      # later: the observed value meets it
    assert any("holds" in m for m in verdict_mismatches(new, stored, _ranges((0.182, 0.273))))
    assert not verdict_mismatches(new, stored, _ranges((0.091, 0.182)))


def _two_conditions(later_lo: float, status: str) -> dict:
    """related_middle_drop holds far from its threshold; 'later' (>= 0.1) holds when its
    interval's lower bound is >= 0.1 and is uncertain below."""
    v = _verdict(5.0, 0.2, status=status)
    v["conditions"]["related_middle_drop"].update(observed=-15.0, ci95=[-16, -14], holds=True,
                                                  status="holds")
    v["conditions"]["later"].update(ci95=[later_lo, 0.3], status=status)
    binding = v["conditions"]["later"]
    v.update(observed=0.2, threshold=0.1, margin=binding["margin"], ci95=binding["ci95"])
    return v


def test_status_may_differ_only_where_noise_moves_an_interval_bound_across_the_threshold():
    held, unsure = _two_conditions(0.1005, "holds"), _two_conditions(0.099, "uncertain")
    ranges = {"related_middle_drop": {"observed": [-15.0, -15.0], "margin": [5.0, 5.0],
                                      "ci95": [[-16, -16], [-14, -14]]},
              "later": {"observed": [0.2, 0.2], "margin": [0.1, 0.1],
                        "ci95": [[0.0985, 0.101], [0.3, 0.3]]}}
    assert not verdict_mismatches(held, unsure, ranges)  # noise reaches both sides of 0.1
    ranges["later"]["ci95"][0] = [0.1004, 0.101]  # now it cannot make the interval straddle
    moved = verdict_mismatches(held, unsure, ranges)
    assert any(m.startswith("status") for m in moved) and any("later.status" in m for m in moved)


def test_a_moved_curve_still_fails_with_noise_ranges():
    stored = _verdict(-9.977, 0.182)
    new = _verdict(-9.5, 0.182)
    new["conditions"]["related_middle_drop"].update(observed=-0.5, ci95=[-0.9, -0.1])
    new.update(observed=-0.5, margin=-9.5, ci95=[-0.9, -0.1])
    ranges = _ranges((0.182, 0.182))
    ranges["related_middle_drop"] = {"observed": [-0.502, -0.498], "margin": [-9.502, -9.498],
                                     "ci95": [[-0.902, -0.898], [-0.102, -0.098]]}
    moved = verdict_mismatches(new, stored, ranges)
    assert any("related_middle_drop.observed" in m for m in moved), moved
    assert not math.isclose(-0.5, -0.023, abs_tol=ATOL)


def test_when_noise_flips_the_verdict_the_stored_binding_condition_is_still_accepted():
    """Found in review: Y's interval sits on its threshold (noise can make it holds or
    uncertain); stored uncertain (binding Y), new holds (binding Z). Noise alone: no failure."""
    def cond(obs, ci, status):
        return {"statistic": "s", "observed": obs, "op": ">=", "threshold": 0.0, "margin": obs,
                "ci95": ci, "holds": obs >= 0, "status": status, "samples_needed": None}
    z = cond(0.01, [0.005, 0.015], "holds")
    new = {"status": "holds", "n": 50, "reason": "", "samples_needed": None, "observed": 0.01,
           "threshold": 0.0, "margin": 0.01, "ci95": [0.005, 0.015],
           "conditions": {"Y": cond(0.05, [0.001, 0.09], "holds"), "Z": z}}
    stored = {"status": "uncertain", "n": 50, "reason": "", "samples_needed": 300, "observed": 0.05,
              "threshold": 0.0, "margin": 0.05, "ci95": [0.0, 0.09],
              "conditions": {"Y": cond(0.05, [0.0, 0.09], "uncertain"), "Z": z}}
    noise = {"Z": {"observed": [0.0099, 0.0101], "margin": [0.0099, 0.0101],
                   "ci95": [[0.0049, 0.0051], [0.0149, 0.0151]]},
             "Y": {"observed": [0.0499, 0.0501], "margin": [0.0499, 0.0501],
                   "ci95": [[-0.0005, 0.0015], [0.0899, 0.0901]]}}
    assert not verdict_mismatches(new, stored, noise)
    noise["Y"]["ci95"][0] = [0.0008, 0.0015]  # now noise cannot reach uncertain: a real change
    assert verdict_mismatches(new, stored, noise)
