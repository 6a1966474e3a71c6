"""The paper's claims on the model under test (``--flowcheck-model``, default: reference).

Two tests per (claim, task): the verdict's rounded JSON (with the claim id and version)
matches this model's committed snapshot (numbers within a tolerance; never marked as
expected to fail; a snapshot of another claim version fails as "claim changed"), and the
claim holds. The cases a model does not pass are in its expectations file
(``tests/claims/expectations/<model>.yaml``, written by ``flowcheck expect`` from the model's
committed run): strict expected failures, so the suite says so the day one starts to hold.
"""
import pytest

from flowcheck.claims.serialise import noise_ranges
from flowcheck.testing import assert_claim
from flowcheck.testing.baselines import baseline_data
from flowcheck.testing.snapshot import verdict_snapshot, why

pytestmark = pytest.mark.slow  # the full claim suite on the model under test


def test_verdict_matches_snapshot(flowcheck_verdict, flowcheck_session, snapshot):
    model = flowcheck_session.settings.model
    noise = noise_ranges(flowcheck_verdict)
    stored = snapshot(extension_class=verdict_snapshot(model, noise))  # float noise never fails
    assert baseline_data(flowcheck_verdict) == stored, why(stored, noise)  # "claim changed" / what moved


def test_claim_holds(flowcheck_verdict, flowcheck_expectation, request):
    if flowcheck_expectation:
        request.applymarker(pytest.mark.xfail(strict=True, reason=flowcheck_expectation["reason"]))
    assert_claim(flowcheck_verdict)  # follows --flowcheck-uncertain, as the built-in items do
