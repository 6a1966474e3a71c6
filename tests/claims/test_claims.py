"""The paper's claims on the model under test (``--flowcheck-model``, default: reference).

Two tests per (claim, task): the verdict's rounded JSON matches this model's committed
snapshot (numbers within a tolerance; never marked as expected to fail), and the claim
holds. Claims that do not hold on the reference model are listed below with the measured
reason, as strict expected failures: the suite says so the day one of them starts to hold.
"""
import pytest

from flowcheck.pytest_plugin import explain, setting
from flowcheck.report.verdicts import noise_ranges, verdict_to_dict
from flowcheck.snapshot import verdict_snapshot

pytestmark = pytest.mark.slow  # the full claim suite on the model under test

# Measured on the shipped reference model (README: "What the reference model shows");
# written from the measurement, never by tuning a threshold. (claim, task) -> reason.
REFERENCE_FINDINGS: dict[tuple[str, str], str] = {
    ('image_to_last_small', 'ChooseAttr'):
        'small_everywhere: max_abs_mean = 24.321, needs <= 10',
    ('image_to_last_small', 'ChooseCat'):
        'small_everywhere: max_abs_mean = 15.024, needs <= 10',
    ('image_to_last_small', 'CompareAttr'):
        'small_everywhere: max_abs_mean = 53.409, needs <= 10',
    ('image_to_last_small', 'LogicalObj'):
        'small_everywhere: max_abs_mean = 36.982, needs <= 10',
    ('image_to_last_small', 'all'):
        'small_everywhere: max_abs_mean = 18.903, needs <= 10',
    ('image_to_question_early', 'ChooseAttr'):
        'lower_drop: min_mean = -0.121, needs <= -20',
    ('image_to_question_early', 'ChooseCat'):
        'lower_drop: min_mean = -5.939, needs <= -20',
    ('image_to_question_early', 'ChooseRel'):
        'lower_drop: min_mean = -0.243, needs <= -20',
    ('image_to_question_early', 'CompareAttr'):
        'lower_drop: min_mean = -2.321, needs <= -20',
    ('image_to_question_early', 'QueryAttr'):
        'lower_drop: min_mean = -0.147, needs <= -20',
    ('image_to_question_early', 'all'):
        'lower_drop: min_mean = -10.308, needs <= -20',
    ('image_to_question_two_stage', 'ChooseAttr'):
        'lower_drop: min_mean = -0.121, needs <= -20',
    ('image_to_question_two_stage', 'ChooseCat'):
        'lower_drop: min_mean = -5.939, needs <= -20',
    ('image_to_question_two_stage', 'ChooseRel'):
        'lower_drop: min_mean = -0.243, needs <= -20',
    ('image_to_question_two_stage', 'CompareAttr'):
        'lower_drop: min_mean = -2.321, needs <= -20',
    ('image_to_question_two_stage', 'LogicalObj'):
        'middle_drop: min_mean = -0.887, needs <= -10',
    ('image_to_question_two_stage', 'QueryAttr'):
        'lower_drop: min_mean = -0.147, needs <= -20',
    ('image_to_question_two_stage', 'all'):
        'middle_drop: min_mean = -0.099, needs <= -10',
    ('lowercase_before_capitalised', 'ChooseAttr'):
        'lowercase_rises_first: lens_rise_gap = 0.636, needs <= -0.05',
    ('lowercase_before_capitalised', 'ChooseCat'):
        'lowercase_rises_first: lens_rise_gap = 0, needs <= -0.05',
    ('lowercase_before_capitalised', 'ChooseRel'):
        'lowercase_appears: lens_peak = 0.01, needs >= 0.05',
    ('lowercase_before_capitalised', 'CompareAttr'):
        'lowercase_appears: lens_peak = 0, needs >= 0.05',
    ('lowercase_before_capitalised', 'LogicalObj'):
        'lowercase_appears: lens_peak = 0, needs >= 0.05',
    ('lowercase_before_capitalised', 'QueryAttr'):
        'lowercase_appears: lens_peak = 0.002, needs >= 0.05',
    ('lowercase_before_capitalised', 'all'):
        'lowercase_appears: lens_peak = 0.009, needs >= 0.05',
    ('other_patches_early_related_middle', 'ChooseAttr'):
        'related_middle_drop: min_mean = -0.001, needs <= -10',
    ('other_patches_early_related_middle', 'ChooseCat'):
        'related_middle_drop: min_mean = -0.023, needs <= -10',
    ('other_patches_early_related_middle', 'ChooseRel'):
        'related_middle_drop: min_mean = -0.038, needs <= -10',
    ('other_patches_early_related_middle', 'CompareAttr'):
        'related_middle_drop: min_mean = -0.604, needs <= -10',
    ('other_patches_early_related_middle', 'LogicalObj'):
        'related_middle_drop: min_mean = 0.066, needs <= -10',
    ('other_patches_early_related_middle', 'QueryAttr'):
        'related_middle_drop: min_mean = -0.019, needs <= -10',
    ('other_patches_early_related_middle', 'all'):
        'related_middle_drop: min_mean = -0.082, needs <= -10',
    ('question_to_last_middle', 'ChooseAttr'):
        'strongest_into_last: min_gap = 24.289, needs <= 0',
    ('question_to_last_middle', 'ChooseCat'):
        'middle_drop: min_mean = -0.092, needs <= -20',
    ('question_to_last_middle', 'ChooseRel'):
        'middle_drop: min_mean = 0.015, needs <= -20',
    ('question_to_last_middle', 'QueryAttr'):
        'middle_drop: min_mean = -0.019, needs <= -20',
    ('question_to_last_middle', 'all'):
        'middle_drop: min_mean = -17.337, needs <= -20',
    ('stage_order', 'ChooseAttr'):
        'image_to_question_present: min_mean = -0.121, needs <= -20',
    ('stage_order', 'ChooseCat'):
        'image_to_question_present: min_mean = -5.939, needs <= -20',
    ('stage_order', 'ChooseRel'):
        'image_to_question_present: min_mean = -0.243, needs <= -20',
    ('stage_order', 'CompareAttr'):
        'image_to_question_present: min_mean = -2.321, needs <= -20',
    ('stage_order', 'QueryAttr'):
        'image_to_question_present: min_mean = -0.147, needs <= -20',
    ('stage_order', 'all'):
        'image_to_question_present: min_mean = -10.308, needs <= -20',
}


def test_verdict_matches_snapshot(flowcheck_verdict, request, snapshot):
    model = setting(request.config, "model")
    extension = verdict_snapshot(model, noise_ranges(flowcheck_verdict))  # float noise never fails
    assert verdict_to_dict(flowcheck_verdict) == snapshot(extension_class=extension)


def test_claim_holds(flowcheck_verdict, request):
    finding = REFERENCE_FINDINGS.get((flowcheck_verdict.claim, flowcheck_verdict.task))
    if setting(request.config, "model") == "reference" and finding:
        request.applymarker(pytest.mark.xfail(strict=True, reason=finding))
    assert flowcheck_verdict.passed, explain(flowcheck_verdict)
