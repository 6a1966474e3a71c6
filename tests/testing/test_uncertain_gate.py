"""What a gate does with an uncertain verdict: fail by default, skip (pytest) or pass when
configured with uncertain=allow; a bad setting is one usage error."""
import pytest

from flowcheck.claims.judge import ConditionResult, Verdict
from flowcheck.errors import UsageError
from flowcheck.runs.settings import RunSettings
from flowcheck.suite import SuiteResult
from flowcheck.testing import ClaimFailed, assert_claim, claim_message

pytest_plugins = ["pytester"]

pytestmark = pytest.mark.fast  # the quick tier: make test-fast


def _verdict(status="uncertain", need=240):
    c = ConditionResult("middle_drop", "min_mean", -23.0, "<=", -20.0, 3.0, (-30.0, -16.0), True,
                        status, need)
    return Verdict("question_to_last_middle", 1, "all", status, 60, -23.0, -20.0, 3.0, (-30.0, -16.0),
                   (c,), samples_needed=need)


def test_an_uncertain_verdict_fails_by_default_and_says_how_many_samples_would_settle_it():
    with pytest.raises(ClaimFailed) as e:
        assert_claim(_verdict())
    assert "uncertain" in str(e.value) and "about 240 samples would likely settle it" in str(e.value)
    assert "??   middle_drop" in claim_message(_verdict())


def test_allow_turns_an_uncertain_verdict_into_a_skip_under_pytest():
    with pytest.raises(pytest.skip.Exception) as e:
        assert_claim(_verdict(), uncertain="allow")
    assert "question_to_last_middle" in str(e.value)
    with pytest.raises(ClaimFailed):  # allow never lets a failing verdict through
        assert_claim(_verdict("fails", None), uncertain="allow")


def test_the_suite_gate_counts_uncertain_as_failing_unless_allowed():
    result = SuiteResult(None, [_verdict("holds", None), _verdict()], {}, {})
    assert not result.all_hold and not result.gate() and result.gate("allow")
    assert not SuiteResult(None, [_verdict("fails", None)], {}, {}).gate("allow")


def test_a_bad_uncertain_setting_is_a_usage_error_naming_the_option():
    assert RunSettings.from_strings({"uncertain": "allow"}).uncertain == "allow"
    assert RunSettings.from_strings({}).uncertain == "fail"
    with pytest.raises(UsageError, match="--flowcheck-uncertain must be one of fail, allow, got 'maybe'"):
        RunSettings.from_strings({"uncertain": "maybe"})


def test_a_shard_still_waiting_for_others_passes_no_gate():
    """Found in review: a pending shard result has no verdicts, and all([]) is True."""
    pending = SuiteResult(None, [], {}, {}, pending="3 of 60 samples still being measured")
    assert not pending.all_hold and not pending.gate() and not pending.gate("allow")


def test_a_statistic_that_is_not_finite_is_inconclusive_not_fails():
    import numpy as np

    from flowcheck.claims.judge import Evidence, judge
    from flowcheck.claims.spec import load_claims
    spec = load_claims(ids=["last_to_last_negligible"])[0]
    rows = np.full((10, 12), 1.0)
    rows[:, 5] = np.inf
    v = judge(spec, Evidence(12, np.array(["ChooseAttr"] * 10), {"last->last": rows}), "reference",
              n_bootstrap=50)
    assert v.status == "inconclusive" and "not a finite number" in v.reason


def test_written_claim_tests_and_builtin_items_share_the_uncertain_policy(pytester):
    """Under --flowcheck-uncertain allow, an uncertain verdict is a skip both for a test that
    asserts ``flowcheck_verdict`` with ``assert_claim`` and for the built-in items."""
    args = ("--flowcheck-tasks", "ChooseAttr", "--flowcheck-max-samples", "4",
            "--flowcheck-uncertain", "allow", "-p", "flowcheck.pytest_plugin")
    pytester.makepyfile(test_written="from flowcheck import assert_claim\n\n"
                        "def test_claim(flowcheck_verdict):\n    assert_claim(flowcheck_verdict)\n")
    written = pytester.runpytest(*args, "--flowcheck-report-dir", "written").parseoutcomes()
    (pytester.path / "test_written.py").unlink()
    builtin = pytester.runpytest(*args, "--flowcheck-model", "reference",
                                 "--flowcheck-report-dir", "builtin").parseoutcomes()
    assert written.get("skipped", 0) >= 1  # some verdict was uncertain: the policy mattered
    keys = ("passed", "failed", "skipped")
    assert [written.get(k, 0) for k in keys] == [builtin.get(k, 0) for k in keys], (written, builtin)
