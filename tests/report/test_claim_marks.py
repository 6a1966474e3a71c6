"""The plots show the claims: each panel shades the layer ranges the claims read on it and
draws their thresholds; the report links each verdict row to the panel that decides it."""
import re
import shutil

import pytest

from flowcheck.claims.spec import LIBRARY, load_claims
from flowcheck.report.claim_marks import condition_marks, panel_of
from flowcheck.report.plots import panel_keys

SPECS = {s.id: s for s in load_claims([LIBRARY])}
PANELS = panel_keys()


def marks(claim: str, stem: str, n_layers: int = 12):
    return condition_marks(SPECS[claim], "reference", n_layers, PANELS[stem])


@pytest.mark.fast
def test_thresholds_and_ranges_of_the_claims():
    (middle,) = [m for m in marks("question_to_last_middle", "knockout_to_last") if m["kind"] == "threshold"]
    # middle_upper = depth [0.3, 0.8] of 12 layers: layers 4..8 (4/11 = 0.36, 8/11 = 0.73)
    assert middle["key"] == "question->last" and middle["y"] == [-20.0] and middle["layers"] == (4, 8)
    to_last = marks("question_to_last_middle", "knockout_to_last")
    assert {m["layers"] for m in to_last if m["kind"] == "range"} == {(4, 8)}
    (both,) = [m for m in marks("last_to_last_negligible", "knockout_to_last") if m["kind"] == "threshold"]
    assert both["y"] == [5.0, -5.0] and both["layers"] == (0, 11)  # |mean| <= 5 at every layer
    (lens,) = [m for m in marks("lowercase_before_capitalised", "lens") if m["kind"] == "threshold"]
    assert lens["key"] == "lens:lower" and lens["y"] == [5.0]  # 0.05 probability, plotted in %
    assert marks("question_to_last_middle", "knockout_image_to_question") == []  # not its panel
    assert condition_marks(SPECS["question_to_last_middle"], "reference", 32, PANELS["knockout_to_last"])[0][
        "layers"] == (10, 24)  # depth fractions scale with the model


@pytest.mark.fast
def test_each_claim_is_decided_on_one_panel():
    assert {c: panel_of(s, PANELS) for c, s in SPECS.items()} == {
        "image_to_last_small": "knockout_to_last", "image_to_question_early": "knockout_image_to_question",
        "image_to_question_two_stage": "knockout_image_to_question",
        "last_to_last_negligible": "knockout_to_last", "lowercase_before_capitalised": "lens",
        "other_patches_early_related_middle": "knockout_patches_to_question",
        "question_to_last_middle": "knockout_to_last", "stage_order": "knockout_image_to_question"}


def test_the_report_draws_them_and_links_each_verdict_to_its_panel(tmp_path):
    from flowcheck.suite import judge_run
    run = tmp_path / "run"
    shutil.copytree("reports/reference/paper-route", run)
    judge_run(run)
    page = (run / "report.html").read_text()
    targets = re.findall(r'href="#(panel-[a-z_]+)"', page)
    assert len(targets) >= 2 * len(SPECS)  # the pooled table and the per-task table
    assert all(f'id="{t}"' in page for t in set(targets))
    assert re.search(r'<a href="#panel-knockout_to_last"[^>]*>question_to_last_middle</a>', page)
    with_marks = (run / "knockout_to_last.png").read_bytes()
    from flowcheck.report.plots import plot_panels
    from flowcheck.runs.stored import load_run
    bare = plot_panels(load_run(run).evidence, tmp_path, "paper-route")  # no claims given
    assert (tmp_path / "knockout_to_last.png") in bare
    assert (tmp_path / "knockout_to_last.png").read_bytes() != with_marks


@pytest.mark.fast
def test_a_range_is_shaded_only_on_the_panel_of_its_flow():
    """stage_order reads image->question over the early layers and question->last over the
    middle ones: the early range belongs to the image->question panel, not to "to Last"."""
    to_last = {m["layers"] for m in marks("stage_order", "knockout_to_last") if m["kind"] == "range"}
    image = {m["layers"] for m in marks("stage_order", "knockout_image_to_question") if m["kind"] == "range"}
    assert (0, 3) in image and (0, 3) not in to_last
