"""Hypothesis: invariants of the decision rule on planted curves of every built-in claim."""
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from flowcheck.claims.judge import Evidence, judge
from flowcheck.claims.spec import load_claims

SPECS = {s.id: s for s in load_claims()}
L = 12


def _planted(scale: float, noise: float, n: int, seed: int) -> Evidence:
    """Paper-shaped mean curves scaled toward zero by ``scale``, per-sample Gaussian noise."""
    x = np.arange(L)

    def dip(c, d, w=1.0):
        return -d * np.exp(-0.5 * ((x - c) / w) ** 2)
    means = {"image->question": dip(1, 50) + dip(5, 25), "other->question": dip(1, 30),
             "related->question": dip(5, 30), "question->last": dip(7, 60, 1.5),
             "image->last": np.full(L, -2.0), "last->last": np.full(L, 0.5)}
    lens = {"lens:lower": np.r_[np.zeros(6), [0.1, 0.3, 0.35, 0.2, 0.05, 0.02]],
            "lens:capitalised": np.r_[np.zeros(8), [0.05, 0.2, 0.5, 0.8]]}
    rng = np.random.default_rng(seed)
    curves = {k: scale * m + noise * rng.standard_normal((n, L)) for k, m in means.items()}
    curves |= {k: np.clip(scale * m + noise / 100 * rng.standard_normal((n, L)), 0, 1)
               for k, m in lens.items()}
    return Evidence(L, np.array(["ChooseAttr"] * n), curves)


CASES = dict(claim=st.sampled_from(sorted(SPECS)), scale=st.floats(0.0, 1.5),
             noise=st.floats(0.0, 40.0), n=st.integers(3, 25), seed=st.integers(0, 2**16))


@settings(max_examples=40, deadline=None)
@given(copies=st.integers(2, 4), **CASES)
def test_adding_copies_of_the_samples_never_turns_holds_into_fails(claim, scale, noise, n, seed, copies):
    ev = _planted(scale, noise, n, seed)
    more = Evidence(L, np.tile(ev.tasks, copies), {k: np.tile(v, (copies, 1)) for k, v in ev.curves.items()})
    a = judge(SPECS[claim], ev, "reference", n_bootstrap=100)
    b = judge(SPECS[claim], more, "reference", n_bootstrap=100)
    assert {a.status, b.status} != {"holds", "fails"}, (a, b)
    assert [c.observed for c in a.conditions] == [c.observed for c in b.conditions] or np.allclose(
        [c.observed for c in a.conditions], [c.observed for c in b.conditions])


@settings(max_examples=40, deadline=None)
@given(**CASES)
def test_each_status_says_where_the_intervals_lie(claim, scale, noise, n, seed):
    v = judge(SPECS[claim], _planted(scale, noise, n, seed), "reference", n_bootstrap=100)
    for c in v.conditions:
        lo, hi = c.ci
        assert lo <= c.observed <= hi
        meets = [x <= c.threshold if c.op == "<=" else x >= c.threshold for x in (lo, hi)]
        assert c.status == ("holds" if all(meets) else "fails" if not any(meets) else "uncertain")
        if c.status == "uncertain":  # an uncertain interval contains the threshold
            assert lo <= c.threshold <= hi
            assert c.samples_needed is None or c.samples_needed > v.n
    if v.status == "uncertain":
        assert v.ci[0] <= v.threshold <= v.ci[1]
        assert v.binding.status == "uncertain" and not any(c.status == "fails" for c in v.conditions)
    if v.status == "holds":
        assert all(c.status == "holds" for c in v.conditions)
    if v.status == "fails":
        assert v.binding.status == "fails"
