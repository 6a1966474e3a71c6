"""The gate compares runs paired: a condition's statistic, B - A over the samples both runs
answered, with one bootstrap draw for both. A verdict flip whose statistic did not move is
"borderline in both runs" and fails no gate; one whose statistic moved is a change."""
import numpy as np
import pytest

from flowcheck.analysis.paired import PairedDifference, classify, condition_differences
from flowcheck.claims.judge import Evidence
from flowcheck.claims.spec import LIBRARY, load_claims


@pytest.fixture(scope="module")
def spec():
    (s,) = load_claims([LIBRARY], ["last_to_last_negligible"])
    return s


def evidence(curves: np.ndarray) -> Evidence:
    return Evidence(curves.shape[1], np.array(["ChooseAttr"] * len(curves), dtype=object),
                    {"last->last": curves})


def test_a_float_level_change_is_not_significant_and_a_real_one_is(spec):
    rng = np.random.default_rng(0)
    a = rng.normal(-2.0, 3.0, size=(40, 12))  # per-sample last->last curves, % change
    same = condition_differences(spec, evidence(a), evidence(a + rng.normal(0, 1e-4, a.shape)), "all")
    moved = condition_differences(spec, evidence(a), evidence(a - 10.0), "all")
    (name,) = same
    assert not same[name].significant and abs(same[name].diff) < 1e-3 and same[name].n == 40
    assert moved[name].significant and moved[name].diff == pytest.approx(10.0, abs=0.5)
    # unpaired, the same two runs' intervals overlap widely: pairing is what separates them
    assert same[name].ci[1] - same[name].ci[0] < 1e-2


def test_the_bootstrap_is_paired_one_draw_for_both_runs(spec):
    """B = A shifted by a constant: every paired resample gives the same difference (an
    unpaired bootstrap would spread it by the sample-to-sample variation)."""
    a = np.random.default_rng(1).normal(-5.0, 4.0, size=(30, 12))
    d = next(iter(condition_differences(spec, evidence(a), evidence(a - 1.0), "all").values()))
    assert d.ci[1] - d.ci[0] < 0.25 * abs(d.diff)


def test_a_flip_counts_only_when_a_condition_that_changed_moved():
    still = PairedDifference("c", "min_mean", 3.0, 3.01, 0.01, (-0.2, 0.22), 20)
    hair = PairedDifference("c", "min_mean", 3.0, 3.06, 0.06, (0.001, 0.15), 20)  # bfloat16 round trip
    moved = PairedDifference("c", "min_mean", 3.0, 12.0, 9.0, (6.1, 11.9), 20)
    other = PairedDifference("d", "min_mean", 1.0, 14.0, 13.0, (12.0, 14.0), 20)
    assert classify({"conditions": ["c"]}, {"c": still, "d": other}) == "borderline"
    assert hair.significant and classify({"conditions": ["c"]}, {"c": hair}) == "borderline"
    assert classify({"conditions": ["c"]}, {"c": moved}) == "changed"
    assert classify({"conditions": ["c"]}, {"c": hair}, tolerance=0.05) == "changed"  # a stricter gate
    assert classify({"conditions": ["c"]}, {}) == "changed"  # no paired evidence: conservative
    depth = PairedDifference("c", "argmin_depth", 0.3, 0.55, 0.25, (0.2, 0.3), 20)
    assert classify({"conditions": ["c"]}, {"c": depth}) == "changed"  # 0.25 of the depth > 0.1


def test_no_rows_no_difference(spec):
    empty = evidence(np.zeros((0, 12)))
    assert condition_differences(spec, empty, empty, "all") == {}


def test_a_verdict_that_newly_fails_needs_only_a_significant_move():
    hair = PairedDifference("c", "min_mean", 3.0, 3.06, 0.06, (0.001, 0.15), 20)
    still = PairedDifference("c", "min_mean", 3.0, 3.01, 0.01, (-0.2, 0.22), 20)
    to_fails = {"conditions": ["c"], "a": "uncertain", "b": "fails"}
    assert classify(to_fails, {"c": hair}) == "changed"
    assert classify(to_fails, {"c": still}) == "borderline"
    assert classify({**to_fails, "a": "fails", "b": "uncertain"}, {"c": hair}) == "borderline"


def test_a_flip_to_a_status_no_statistic_explains_is_never_borderline():
    """To or from inconclusive (no usable sample, a statistic that is not a number) the gate
    counts the flip: a claim that was not measured is not a grazed threshold."""
    nan = PairedDifference("c", "abs_ratio", 0.1, float("nan"), float("nan"), (float("nan"),) * 2, 20)
    still = PairedDifference("c", "min_mean", 3.0, 3.01, 0.01, (-0.2, 0.22), 20)
    assert classify({"conditions": ["c"], "a": "holds", "b": "uncertain"}, {"c": nan}) == "changed"
    assert classify({"conditions": [], "a": "holds", "b": "inconclusive"}, {"c": still}) == "changed"
    assert classify({"conditions": ["c"], "a": "inconclusive", "b": "holds"}, {"c": still}) == "changed"


def test_on_a_handful_of_samples_significance_cannot_be_told():
    """Under MIN_PAIRED samples a percentile interval is a few points that excludes 0 on any
    move: a hair is not significant there, a move beyond the smallest change still counts."""
    from flowcheck.analysis.paired import MIN_PAIRED
    hair = PairedDifference("c", "min_mean", 3.0, 3.001, 0.001, (0.001, 0.001), 1)
    big = PairedDifference("c", "min_mean", 3.0, 12.0, 9.0, (9.0, 9.0), 2)
    to_fails = {"conditions": ["c"], "a": "uncertain", "b": "fails"}
    assert MIN_PAIRED > 2 and not hair.significant and not big.significant
    assert classify(to_fails, {"c": hair}) == "borderline"
    assert classify(to_fails, {"c": big}) == "changed" and big.matters()
