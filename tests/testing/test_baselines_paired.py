"""A recorded baseline is judged as `flowcheck compare` judges two runs: numbers within float
noise match; beyond it, paired over the samples both runs answered, a verdict fails its
baseline only when its statistic moved significantly and by more than the smallest change
worth a gate (or it newly fails with a significant move); a flip whose statistic barely moved
is borderline and passes. No pytest plugin, no model: synthetic per-sample curves."""
import numpy as np
import pytest

from flowcheck.claims.judge import POOLED, Evidence, judge
from flowcheck.claims.spec import LIBRARY, load_claims
from flowcheck.testing import baselines

pytestmark = pytest.mark.fast


@pytest.fixture(scope="module")
def spec():  # last->last: max |mean curve| <= 5 pp
    (s,) = load_claims([LIBRARY], ["last_to_last_negligible"])
    return s


def curves(peak: float, n: int = 40, seed: int = 0) -> np.ndarray:
    """Per-sample last->last curves (n, 12): noise around 0, a bump of mean ``peak`` at layer 6."""
    rng = np.random.default_rng(seed)
    c = rng.normal(0.0, 0.5, size=(n, 12))
    c[:, 6] += peak + rng.normal(0.0, 3.0, size=n)
    return c


def evidence(c: np.ndarray) -> Evidence:
    return Evidence(12, np.array(["ChooseAttr"] * len(c), dtype=object), {"last->last": c})


def ids(n: int = 40) -> list[str]:
    return [f"ChooseAttr-{i:06d}" for i in range(n)]


def recorded(tmp_path, spec, c, with_samples=True):
    verdict = judge(spec, evidence(c), "reference", POOLED)
    digest = baselines.record_samples(tmp_path, "m", ids(len(c)), evidence(c), "w1") if with_samples else None
    baselines.record(tmp_path, "m", verdict, "w1", samples=digest)
    return verdict


def check(tmp_path, spec, c):
    verdict = judge(spec, evidence(c), "reference", POOLED)
    return verdict, baselines.check(tmp_path, "m", verdict, "w1", spec, (ids(len(c)), evidence(c)))


def first_flip(spec, base: np.ndarray, shifts) -> tuple[float, str, str]:
    """The smallest shift of layer 6 that changes the verdict's status."""
    a = judge(spec, evidence(base), "reference", POOLED).status
    for s in shifts:
        moved = base.copy()
        moved[:, 6] += s
        b = judge(spec, evidence(moved), "reference", POOLED).status
        if b != a:
            return s, a, b
    raise AssertionError("no flip in the shifts tried")


def test_the_same_samples_match_and_a_large_move_fails(tmp_path, spec):
    base = curves(1.0)
    recorded(tmp_path, spec, base)
    assert check(tmp_path, spec, base + 1e-6)[1].outcome == baselines.MATCH
    moved = base.copy()
    moved[:, 6] += 8.0  # the bump now far above 5 pp: fails, moved 8 pp > 5
    verdict, found = check(tmp_path, spec, moved)
    assert verdict.status == "fails" and not found.ok and found.outcome == baselines.CHANGED
    assert "paired over 40 samples" in found.message("m") and "+8" in found.message("m")


def test_a_flip_whose_statistic_barely_moved_is_borderline_and_passes(tmp_path, spec):
    base = curves(3.4)
    shift, a, b = first_flip(spec, base, np.arange(0.02, 2.0, 0.02))
    assert {a, b} == {"holds", "uncertain"} and shift < 5.0
    recorded(tmp_path, spec, base)
    moved = base.copy()
    moved[:, 6] += shift
    verdict, found = check(tmp_path, spec, moved)
    assert verdict.status == b and found.ok and found.outcome == baselines.BORDERLINE
    assert f"status {a} -> {b}: borderline in both runs" in found.message("m")
    # the same move, with a baseline that stores no per-sample numbers: the float-noise rule
    recorded(tmp_path / "old", spec, base, with_samples=False)
    old = baselines.check(tmp_path / "old", "m", verdict, "w1", spec, (ids(), evidence(moved)))
    assert not old.ok and "could not be tested paired" in old.message("m")


def test_a_verdict_that_newly_fails_needs_only_a_significant_move(tmp_path, spec):
    base = curves(5.0)  # the interval straddles 5 pp: uncertain
    assert judge(spec, evidence(base), "reference", POOLED).status == "uncertain"
    shift, a, b = first_flip(spec, base, np.arange(0.05, 4.0, 0.05))
    assert (a, b) == ("uncertain", "fails") and shift < 5.0  # smaller than the smallest change
    recorded(tmp_path, spec, base)
    moved = base.copy()
    moved[:, 6] += shift
    verdict, found = check(tmp_path, spec, moved)
    assert verdict.status == "fails" and found.outcome == baselines.CHANGED


def test_a_samples_file_rewritten_by_a_later_recording_is_not_paired_with_older_baselines(tmp_path, spec):
    """Recording a few cases again (pytest -k ... --snapshot-update) rewrites the model's
    samples file; baselines recorded before keep the float-noise rule and say why."""
    base = curves(1.0)
    recorded(tmp_path, spec, base)
    baselines.record_samples(tmp_path, "m", ids(), evidence(base + 3.0), "w1")  # another run's samples
    moved = base.copy()
    moved[:, 6] += 0.5
    verdict, found = check(tmp_path, spec, moved)
    assert not found.ok and "samples file was rewritten by a later recording" in found.message("m")
