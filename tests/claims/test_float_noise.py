"""Float noise cannot change a snapshot or a verdict of the committed runs.

Every measured value of each committed run (reports/reference/: the reference model and
the two controls) is moved by the measured noise bound (``flowcheck.analysis.noise``: +-NOISE_PP
percentage points on knockout curves, +-NOISE_LENS on lens probabilities), all up, all
down, then random signs and uniform draws, and the run is re-judged and re-rendered. No
snapshot comparison may fail, and no status may change except for verdicts whose margin
lies inside the noise (``Verdict.within_noise``), listed below. Pure: no model.
"""
import json

import pytest

from flowcheck.analysis.noise import what_noise_changes
from flowcheck.claims.noise import NOISE_LENS, NOISE_PP
from flowcheck.paths import REPO_ROOT
from flowcheck.runs.stored import load_run
from flowcheck.testing.baselines import baseline_data

pytestmark = pytest.mark.slow  # re-judges three committed runs 7 times each (about 60 s)

RUNS = REPO_ROOT / "reports" / "reference"
SNAPSHOTS = REPO_ROOT / "tests" / "claims" / "__snapshots__" / "test_claims" / "reference"
MODELS = ("natural", "paper-route", "direct-route")
# (model, claim, task) whose margin is inside the noise: float noise alone could flip them.
# Measured: none on the shipped models (docs/trust.md, "Snapshots and float noise").
WITHIN_NOISE: set = set()


@pytest.fixture(scope="module", params=MODELS)
def committed(request):
    return request.param, load_run(RUNS / request.param)


@pytest.fixture(scope="module")
def changes(committed):
    model, run = committed
    return model, run, what_noise_changes(run, n_random=4, pp=NOISE_PP, lens=NOISE_LENS)


def test_no_snapshot_and_no_verdict_changes_under_noise(changes):
    model, run, changed = changes
    within = {(model, v.claim, v.task) for v in run.judge() if v.within_noise}
    assert within == {w for w in WITHIN_NOISE if w[0] == model}
    flipped = {(model, *k): e["status"] for k, e in changed.items() if e["status"]}
    assert set(flipped) <= within, flipped
    moved = {k: e["snapshot"] for k, e in changed.items() if e["snapshot"]}
    assert not moved, moved
    # The draws are strong enough to matter: without the noise ranges they move things (on
    # the reference model's flat curves, the layer of a dip jumps).
    plain = [m for e in changed.values() for m in e["plain"]]
    assert plain, f"no draw moved anything on {model}"
    if model == "natural":
        assert any("in_order.observed" in m for m in plain), plain


def test_the_committed_run_is_what_the_snapshots_hold():
    """So the test above covers the snapshots the suite compares with (the one that failed
    on another machine among them)."""
    run = load_run(RUNS / "natural")
    verdicts = {(v.claim, v.task): baseline_data(v) for v in run.judge()}
    files = sorted(SNAPSHOTS.glob("*.json"))
    assert len(files) == len(verdicts)
    for path in files:
        claim, task = path.stem.split("[", 1)[1].rstrip("]").rsplit("-", 1)
        assert json.loads(path.read_text()) == verdicts[(claim, task)], path.name
