"""The power table's pieces on planted curves: the verdict moves with the effect only, from
fails at no effect through uncertain to holds at the full effect."""
import numpy as np
import pytest

from flowcheck.analysis.power import power_curve, render_power, residuals, transitions
from flowcheck.claims.judge import Evidence
from flowcheck.claims.spec import load_claims

pytestmark = pytest.mark.fast  # the quick tier: make test-fast

L = 12
SPEC = load_claims(ids=["question_to_last_middle"])[0]


def _runs(n=60, seed=0):
    """An effect run (a -60% question->last dip at layer 7) and a noise run (spread 25)."""
    rng = np.random.default_rng(seed)
    x = np.arange(L)
    dip = -60 * np.exp(-0.5 * ((x - 7) / 1.5) ** 2)
    tasks = np.array(["ChooseAttr", "QueryAttr"] * (n // 2))
    effect = Evidence(L, tasks, {"question->last": dip + 5 * rng.standard_normal((n, L)),
                                 "image->last": np.full((n, L), -1.0),
                                 "last->last": np.full((n, L), 0.5)})
    noise = Evidence(L, tasks, {k: 3.0 + 25 * rng.standard_normal((n, L)) for k in effect.curves})
    return effect, noise


def test_residuals_have_zero_mean_per_task():
    _, noise = _runs()
    res = residuals(noise)["question->last"]
    for task in ("ChooseAttr", "QueryAttr"):
        assert np.allclose(res[noise.tasks == task].mean(0), 0, atol=1e-9)


def test_the_verdict_goes_from_fails_through_uncertain_to_holds_as_the_effect_grows():
    effect, noise = _runs()
    curve = power_curve(SPEC, effect, noise, "reference", n_per_task=20, n_bootstrap=300)
    statuses = [st for _, st, _ in curve]
    assert statuses[0] == "fails" and statuses[-1] == "holds"
    order = {"fails": 0, "uncertain": 1, "holds": 2}
    assert all(order[a] <= order[b] for a, b in zip(statuses, statuses[1:])), statuses
    t = transitions(curve)
    assert t["not_fails"][0] <= t["holds_from"][0]
    name, value = t["holds_from"][1]
    assert name in ("middle_drop", "strongest_into_last")
    if name == "middle_drop":
        assert value <= -20  # where it holds the observed drop meets the threshold


def test_transitions_read_off_a_curve_and_never_when_not_reached():
    curve = [(0.0, "fails", ("a", -1.0)), (0.5, "uncertain", ("a", -15.0)),
             (0.75, "holds", ("a", -25.0)), (1.0, "holds", ("a", -30.0))]
    assert transitions(curve) == {"not_fails": (0.5, ("a", -15.0)), "holds_from": (0.75, ("a", -25.0))}
    assert transitions([(0.0, "fails", None), (1.0, "uncertain", None)])["holds_from"] is None
    text = render_power([{"claim": "c", "n_per_task": 10, "draws": 1, "not_fails": None,
                          "holds_from": {"s": 0.5, "condition": "a", "threshold": -20, "effect": -25.0}}])
    assert "| c | 10 | never | a -25 (threshold -20; s = 0.50) |" in text
