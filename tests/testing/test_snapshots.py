"""Verdict snapshots: numeric tolerance, one folder per model, deselected ones kept."""
import pytest

from flowcheck.claims.equivalence import close

pytestmark = pytest.mark.fast  # the quick tier: make test-fast

pytest_plugins = ["pytester"]

MODULE = """
import pytest
from flowcheck.testing.snapshot import verdict_snapshot

VALUE = {"first": {"status": "holds", "margin": 1.0}, "second": {"status": "fails", "margin": -2.0}}

@pytest.mark.parametrize("case", ["first", "second"])
def test_v(case, snapshot):
    assert VALUE[case] == snapshot(extension_class=verdict_snapshot("my/model"))
"""


@pytest.mark.parametrize("a, b, same", [
    ({"x": 1.0}, {"x": 1.0005}, True), ({"x": 100.0}, {"x": 100.9}, True),
    ({"x": 1.0}, {"x": 1.1}, False), ({"s": "holds"}, {"s": "fails"}, False),
    ({"x": [1, 2]}, {"x": [1, 2, 3]}, False), ({"x": True}, {"x": 1}, False),
])
def test_close_compares_numbers_with_tolerance_and_strings_exactly(a, b, same):
    assert close(a, b) is same


def test_snapshots_live_per_model_and_deselected_ones_are_kept(pytester):
    pytester.makepyfile(test_snap=MODULE)
    pytester.runpytest("--snapshot-update").assert_outcomes(passed=2)
    folder = pytester.path / "__snapshots__" / "test_snap" / "my_model"
    assert sorted(p.name for p in folder.iterdir()) == ["test_v[first].json", "test_v[second].json"]
    pytester.runpytest("--snapshot-update", "-k", "first").assert_outcomes(passed=1, deselected=1)
    assert (folder / "test_v[second].json").is_file()
    pytester.runpytest().assert_outcomes(passed=2)


def test_a_moved_number_beyond_tolerance_fails_with_a_diff(pytester):
    pytester.makepyfile(test_snap=MODULE)
    pytester.runpytest("--snapshot-update").assert_outcomes(passed=2)
    path = pytester.path / "__snapshots__" / "test_snap" / "my_model" / "test_v[first].json"
    path.write_text(path.read_text().replace("1.0", "1.004"))  # within tolerance
    pytester.runpytest().assert_outcomes(passed=2)
    path.write_text(path.read_text().replace("1.004", "3.0"))
    result = pytester.runpytest()
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*margin*"])


def test_a_snapshot_of_another_claim_version_fails_as_claim_changed(pytester):
    test = """
from flowcheck.testing.snapshot import verdict_snapshot, why

def test_v(snapshot):
    stored = snapshot(extension_class=verdict_snapshot("m"))
    assert {"claim": "c", "version": VERSION, "status": "holds"} == stored, why(stored)
"""
    pytester.makepyfile(test_snap=test.replace("VERSION", "1"))
    pytester.runpytest("--snapshot-update").assert_outcomes(passed=1)
    pytester.makepyfile(test_snap=test.replace("VERSION", "2"))
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*claim changed: c v1 -> v2*not a regression of the model*"])
