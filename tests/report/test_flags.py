"""A verdict on few correctly answered samples, or on a model near chance, is flagged."""
import pytest

from flowcheck.report.flags import MIN_CORRECT, flags
from flowcheck.report.summary import render_summary

pytestmark = pytest.mark.fast  # the quick tier: make test-fast


def test_few_samples_and_near_chance_are_flagged_per_task_and_pooled():
    counts = {"ChooseAttr": {"n": 120, "n_correct": 116, "majority": 0.2},
              "QueryAttr": {"n": 120, "n_correct": 22, "majority": 0.5}}
    assert flags(counts, "ChooseAttr") == []
    few, chance = flags(counts, "QueryAttr")
    assert few == f"few samples (22 correct < {MIN_CORRECT})"
    assert chance.startswith("near chance (18% correct")
    assert flags(counts, "all") == []  # 138/240 = 58%, baseline 35%: pooled is fine
    assert flags({"LogicalObj": {"n": 100, "n_correct": 54, "majority": 0.53}}, "all") == [
        "near chance (54% correct; always giving the most common answer: 53%)"]


def test_the_summary_leads_with_accuracy_and_flags_it():
    counts = {"QueryAttr": {"n": 120, "n_correct": 22, "majority": 0.5}}
    text = render_summary({"model_name": "edited"}, [], counts)
    assert text.index("## Answered correctly") < text.index("## Verdicts")
    assert "| QueryAttr | 22/120 | 18% | 50% | few samples (22 correct < 30); near chance" in text
