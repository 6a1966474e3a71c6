"""The judge on planted curves: paper-shaped evidence holds, direct-route evidence fails,
missing evidence is inconclusive. No model: curves are written by hand (12 layers)."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flowcheck.claims.judge import POOLED, Evidence, judge, judge_all
from flowcheck.claims.spec import load_claims

pytestmark = pytest.mark.fast  # the quick tier: make test-fast

L = 12
SPECS = {s.id: s for s in load_claims()}
ROUTING = ["image_to_question_early", "image_to_question_two_stage",
           "other_patches_early_related_middle", "question_to_last_middle",
           "image_to_last_small", "stage_order"]


def dip(centre, depth, width=1.0):
    x = np.arange(L)
    return -depth * np.exp(-0.5 * ((x - centre) / width) ** 2)


PAPER = {  # mean curves of a model that uses the paper's route
    "image->question": dip(1, 50) + dip(5, 25),
    "other->question": dip(1, 30),
    "related->question": dip(5, 30),
    "question->last": dip(7, 60, 1.5),
    "image->last": np.full(L, -2.0),
    "last->last": np.full(L, 0.5),
    "lens:lower": np.r_[np.zeros(6), [0.1, 0.3, 0.35, 0.2, 0.05, 0.02]],
    "lens:capitalised": np.r_[np.zeros(8), [0.05, 0.2, 0.5, 0.8]],
}
DIRECT = {  # the last position reads the image; questions carry nothing; no lower case
    "image->question": np.full(L, -1.0), "other->question": np.full(L, -1.0),
    "related->question": np.full(L, -0.5), "question->last": np.full(L, -3.0),
    "image->last": dip(6, 70, 2), "last->last": np.full(L, 0.5),
    "lens:lower": np.full(L, 0.001), "lens:capitalised": np.r_[np.zeros(9), [0.3, 0.6, 0.9]],
}


def evidence(means, n=20, noise=1.0, tasks=("ChooseAttr", "QueryAttr"), seed=0):
    rng = np.random.default_rng(seed)
    task_col = np.array([tasks[i % len(tasks)] for i in range(n)])
    curves = {}
    for k, m in means.items():
        scale = noise * (0.001 if k.startswith("lens") else 1.0)
        rows = m + scale * rng.standard_normal((n, L))
        if n:
            rows = rows - rows.mean(0) + m  # the sample mean is exactly the planted curve
        curves[k] = rows
    return Evidence(L, task_col, curves)


@pytest.mark.parametrize("claim", sorted(SPECS))
def test_paper_shaped_evidence_holds(claim):
    v = judge(SPECS[claim], evidence(PAPER), "reference", n_bootstrap=200)
    assert v.status == "holds", v
    assert v.margin >= 0 and v.n == 20 and v.ci[0] <= v.ci[1]


@pytest.mark.parametrize("claim", ROUTING + ["lowercase_before_capitalised"])
def test_direct_route_evidence_fails(claim):
    v = judge(SPECS[claim], evidence(DIRECT), "reference", n_bootstrap=200)
    assert v.status == "fails", v
    assert v.margin < 0 and any(not c.holds for c in v.conditions)


def test_margin_observed_and_threshold_are_those_of_the_binding_condition():
    v = judge(SPECS["image_to_question_early"], evidence(PAPER), "reference", n_bootstrap=100)
    assert v.observed == pytest.approx(PAPER["image->question"][:4].min())
    assert v.threshold == -20 and v.margin == pytest.approx(-20 - v.observed)
    two = judge(SPECS["image_to_question_two_stage"], evidence(PAPER), "reference", n_bootstrap=100)
    assert two.margin == min(c.margin for c in two.conditions)


def test_no_samples_missing_flow_or_missing_region_is_inconclusive():
    empty = evidence(PAPER, n=0)
    v = judge(SPECS["last_to_last_negligible"], empty, "reference")
    assert v.status == "inconclusive" and "no correctly answered samples" in v.reason
    partial = evidence({k: m for k, m in PAPER.items() if k != "last->last"})
    v = judge(SPECS["last_to_last_negligible"], partial, "reference")
    assert v.status == "inconclusive" and "'last->last'" in v.reason
    no_region = evidence(PAPER)
    no_region.curves["related->question"][:] = np.nan
    v = judge(SPECS["other_patches_early_related_middle"], no_region, "reference")
    assert v.status == "inconclusive" and not v.passed


def test_samples_missing_one_region_are_dropped_not_counted():
    ev = evidence(PAPER, n=20)
    ev.curves["related->question"][:5] = np.nan
    v = judge(SPECS["other_patches_early_related_middle"], ev, "reference", n_bootstrap=50)
    assert v.n == 15


def test_verdicts_per_task_and_pooled_are_deterministic():
    ev = evidence(PAPER, n=30, noise=5.0)
    a = judge_all([SPECS["question_to_last_middle"]], ev, "reference", n_bootstrap=100)
    b = judge_all([SPECS["question_to_last_middle"]], ev, "reference", n_bootstrap=100)
    assert a == b
    assert [v.task for v in a] == ["ChooseAttr", "QueryAttr", POOLED]
    assert [v.n for v in a] == [15, 15, 30]


def test_ci_narrows_with_more_samples():
    spec = SPECS["image_to_question_early"]
    small = judge(spec, evidence(PAPER, n=10, noise=20.0), "reference", n_bootstrap=300)
    large = judge(spec, evidence(PAPER, n=200, noise=20.0), "reference", n_bootstrap=300)
    assert (large.ci[1] - large.ci[0]) < (small.ci[1] - small.ci[0])


@settings(max_examples=30, deadline=None)
@given(st.permutations(range(12)))
def test_observed_value_does_not_depend_on_row_order(order):
    ev = evidence(PAPER, n=12, noise=10.0)
    shuffled = Evidence(L, ev.tasks[list(order)], {k: v[list(order)] for k, v in ev.curves.items()})
    for claim in ("image_to_question_two_stage", "lowercase_before_capitalised"):
        a = judge(SPECS[claim], ev, "reference", n_bootstrap=10)
        b = judge(SPECS[claim], shuffled, "reference", n_bootstrap=10)
        assert [c.observed for c in a.conditions] == pytest.approx([c.observed for c in b.conditions])


def test_a_family_outside_applies_to_is_not_applicable_and_does_not_fail():
    from dataclasses import replace
    spec = replace(SPECS["last_to_last_negligible"], applies_to=("llava",))
    v = judge(spec, evidence(PAPER), "reference")
    assert v.status == "not applicable" and v.passed and v.n == 0
    assert "applies to llava, not to family 'reference'" in v.reason
    assert judge(SPECS["last_to_last_negligible"], evidence(PAPER), "reference").status != "not applicable"
