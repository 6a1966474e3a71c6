"""The paper's claims on the model under test (``--flowcheck-model``, default: reference).

Two tests per (claim, task): the verdict's rounded JSON matches this model's committed
snapshot (numbers within a tolerance; never marked as expected to fail), and the claim
holds. Claims that do not hold on the reference model are listed below with the measured
reason, as strict expected failures: the suite says so the day one of them starts to hold.
"""
import pytest

from flowcheck.pytest_plugin import explain, setting
from flowcheck.report.verdicts import verdict_to_dict
from flowcheck.snapshot import verdict_snapshot

# Measured on the shipped reference model (README: "What the reference model shows");
# written from the measurement, never by tuning a threshold. (claim, task) -> reason.
REFERENCE_FINDINGS: dict[tuple[str, str], str] = {}


def test_verdict_matches_snapshot(flowcheck_verdict, request, snapshot):
    model = setting(request.config, "model")
    assert verdict_to_dict(flowcheck_verdict) == snapshot(extension_class=verdict_snapshot(model))


def test_claim_holds(flowcheck_verdict, request):
    finding = REFERENCE_FINDINGS.get((flowcheck_verdict.claim, flowcheck_verdict.task))
    if setting(request.config, "model") == "reference" and finding:
        request.applymarker(pytest.mark.xfail(strict=True, reason=finding))
    assert flowcheck_verdict.passed, explain(flowcheck_verdict)
