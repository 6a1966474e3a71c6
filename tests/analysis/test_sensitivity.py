"""The sensitivity table: re-judging a stored run on its first n samples per task."""
import pytest

from flowcheck.analysis.sensitivity import render_sensitivity, sensitivity
from flowcheck.claims.spec import MAIN_CLAIMS
from flowcheck.paths import REPO_ROOT

pytestmark = pytest.mark.fast  # the quick tier: make test-fast

RUN = REPO_ROOT / "reports" / "reference" / "paper-route"


@pytest.fixture(scope="module")
def rows():
    return sensitivity([RUN], MAIN_CLAIMS, (10, 30, 100), n_bootstrap=200)


def test_one_pooled_row_per_claim_and_n_with_growing_samples(rows):
    expected = {(c, n) for c in MAIN_CLAIMS for n in (10, 30, 100)}
    assert {(r["claim"], r["n_per_task"]) for r in rows} == expected
    for claim in MAIN_CLAIMS:
        used = [r["n_used"] for r in sorted(rows, key=lambda r: r["n_per_task"]) if r["claim"] == claim]
        assert used[0] <= 60 and used[0] < used[1] < used[2] <= 600
        assert all(r["model"] == "paper-route" and r["k"] == 3 for r in rows)


def test_the_full_n_matches_the_committed_verdicts(rows):
    """At 120 per task (all of the run) the re-judged verdicts are the run's own."""
    import json
    full = sensitivity([RUN], MAIN_CLAIMS, (120,), n_bootstrap=200)
    committed = json.loads((RUN / "verdicts.json").read_text())
    for r in full:
        assert r["status"] == committed[r["claim"]]["tasks"]["all"]["status"]
        assert r["margin"] == pytest.approx(committed[r["claim"]]["tasks"]["all"]["margin"], abs=1e-3)


def test_table_and_bad_input(rows, tmp_path):
    text = render_sensitivity(rows)
    assert text.count("\n") == 2 + len(MAIN_CLAIMS) and "n = 30/task" in text
    with pytest.raises(FileNotFoundError, match="not a flowcheck run folder"):
        sensitivity([tmp_path])
