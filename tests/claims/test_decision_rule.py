"""The decision rule: a condition holds when its whole 95% interval meets the threshold,
fails when none of it does, and is uncertain when the interval straddles it; an uncertain
verdict says how many samples would likely settle it."""
import numpy as np
import pytest

from flowcheck.claims.judge import (
    Evidence,
    combine,
    condition_status,
    judge,
    reachable_statuses,
    reachable_verdicts,
    samples_needed,
    status_can_flip,
)
from flowcheck.claims.spec import parse_spec

pytestmark = pytest.mark.fast  # the quick tier: make test-fast

L = 12


def one_layer_drop(threshold=-20.0):
    """A one-condition claim on the mean change of question->last at one layer."""
    return parse_spec({
        "id": "drop", "version": 1, "paper": "test", "summary": "test", "analysis": "knockout",
        "flows": ["question->last"], "layers": {"mid": [0.5, 0.5]},
        "conditions": [{"name": "drop", "statistic": "min_mean",
                        "args": {"flow": "question->last", "layers": "mid"}, "op": "<="}],
        "thresholds": {"reference": {"drop": threshold}}, "applies_to": ["reference"]})


def gaussian(mean, sd, n, seed, centred=False):
    """Per-sample curves: every layer ``mean`` + N(0, sd); ``centred``: sample mean exactly ``mean``."""
    rows = mean + sd * np.random.default_rng(seed).standard_normal((n, L))
    if centred:
        rows = rows - rows.mean(0) + mean
    return Evidence(L, np.array(["ChooseAttr"] * n), {"question->last": rows})


@pytest.mark.parametrize("op,lo,hi,expected", [
    ("<=", -30, -25, "holds"), ("<=", -30, -20, "holds"), ("<=", -19, -5, "fails"),
    ("<=", -30, -10, "uncertain"), (">=", 0.2, 0.4, "holds"), (">=", 0.0, 0.05, "fails"),
    (">=", 0.05, 0.2, "uncertain"), (">=", 0.1, 0.1, "holds")])
def test_condition_status_is_where_the_interval_lies(op, lo, hi, expected):
    threshold = -20 if op == "<=" else 0.1
    assert condition_status(op, threshold, lo, hi) == expected


def test_a_claim_fails_if_any_condition_fails_else_uncertain_if_any_is():
    assert combine(["holds", "uncertain", "fails"]) == "fails"
    assert combine(["holds", "uncertain"]) == "uncertain"
    assert combine(["holds", "holds"]) == "holds"


def test_a_clear_effect_holds_a_clear_absence_fails_and_a_borderline_one_is_uncertain():
    spec = one_layer_drop()
    assert judge(spec, gaussian(-40, 20, 100, 0, True), "reference").status == "holds"
    assert judge(spec, gaussian(0, 20, 100, 0, True), "reference").status == "fails"
    v = judge(spec, gaussian(-23, 30, 30, 0, True), "reference")
    assert v.status == "uncertain" and not v.passed and not v.gate() and v.gate("allow")
    c = v.conditions[0]
    assert c.ci[0] <= -20 <= c.ci[1] and v.ci == c.ci and v.binding is c
    assert v.samples_needed == c.samples_needed and v.samples_needed > v.n


def test_the_interval_always_contains_the_observed_value():
    # the bootstrap of a minimum over layers is biased low; the interval is widened to the value
    spec = parse_spec({**_spec_dict(), "layers": {"all": [0.0, 1.0]}})
    v = judge(spec, gaussian(-30, 15, 8, 3, True), "reference")
    c = v.conditions[0]
    assert c.ci[0] <= c.observed <= c.ci[1]


def _spec_dict():
    return {"id": "drop", "version": 1, "paper": "test", "summary": "test", "analysis": "knockout",
            "flows": ["question->last"], "layers": {"all": [0.0, 1.0]},
            "conditions": [{"name": "drop", "statistic": "min_mean",
                            "args": {"flow": "question->last", "layers": "all"}, "op": "<="}],
            "thresholds": {"reference": {"drop": -20}}, "applies_to": ["reference"]}


def test_samples_needed_is_the_80_percent_power_calculation():
    # observed -25, threshold -20, upper bound -15: half-width 10 towards the threshold, distance 5
    need = samples_needed(30, -25.0, "<=", -20.0, (-35.0, -15.0))
    assert need == int(np.ceil(30 * 4 * ((1.959964 + 0.841621) / 1.959964) ** 2))
    # a value that misses: the bound on the holding side counts
    assert samples_needed(30, -15.0, "<=", -20.0, (-25.0, -5.0)) == need
    assert samples_needed(30, -20.0, "<=", -20.0, (-25.0, -15.0)) is None


def test_samples_needed_settles_the_verdict_about_four_times_in_five():
    """Calibration: a run whose mean is exactly the true effect is uncertain; fresh runs of
    the size it names settle it (here: hold) in about 80% of seeds."""
    spec = one_layer_drop()
    first = judge(spec, gaussian(-26, 30, 30, 0, centred=True), "reference")
    assert first.status == "uncertain"
    n = first.samples_needed
    settled = [judge(spec, gaussian(-26, 30, n, seed), "reference").status == "holds"
               for seed in range(1, 61)]
    assert 0.65 <= np.mean(settled) <= 0.95, (n, np.mean(settled))
    # at the original size it rarely settles
    small = [judge(spec, gaussian(-26, 30, 30, seed), "reference").status == "holds"
             for seed in range(1, 61)]
    assert np.mean(small) < 0.5


def test_what_noise_can_make_of_a_condition_and_a_verdict():
    assert reachable_statuses("<=", -20, (-30, -29), (-21, -19)) == {"holds", "uncertain"}
    assert reachable_statuses("<=", -20, (-30, -29), (-22, -21)) == {"holds"}
    assert reachable_statuses(">=", 0.1, (0.05, 0.11), (0.3, 0.3)) == {"holds", "uncertain"}
    assert reachable_verdicts([{"holds"}, {"holds", "uncertain"}]) == {"holds", "uncertain"}
    assert reachable_verdicts([{"fails"}, {"holds", "uncertain"}]) == {"fails"}
    assert status_can_flip("holds", [{"holds"}, {"holds", "uncertain"}])
    assert not status_can_flip("fails", [{"fails"}, {"holds", "uncertain"}])
