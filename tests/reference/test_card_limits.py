"""The model card's known limits name every task below the 80% target, with its number."""
from flowcheck.reference.pipeline import LIMITS, TARGET_ACCURACY, limits_for
from flowcheck.reference.train import TrainSpec


def test_tasks_below_the_target_are_named_with_their_accuracy():
    acc = {"ChooseAttr": 0.95, "LogicalObj": 0.6, "CompareAttr": 0.7917, "all": 0.85}
    limits = limits_for(TrainSpec(route="paper", init_from="reference"), acc)
    assert limits[-1] == ("Held-out accuracy below 80% on LogicalObj (60.0%), CompareAttr (79.2%) "
                          "(all tasks: 85.0%).")
    assert not any("ChooseAttr" in line for line in limits)
    assert any("A control: its route is planted ('paper'" in line for line in limits)


def test_no_accuracy_line_when_every_task_meets_the_target():
    acc = {"ChooseAttr": TARGET_ACCURACY, "LogicalObj": 0.9, "all": 0.85}
    assert limits_for(TrainSpec(), acc) == LIMITS
    assert limits_for(TrainSpec()) == LIMITS
