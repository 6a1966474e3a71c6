"""The six GQA task types of the paper, by name (light: no numpy, no PIL; the pytest plugin
and the settings check names with it before anything heavy loads)."""
from __future__ import annotations

from ..registry import Registry

TASKS = ("ChooseAttr", "ChooseCat", "ChooseRel", "CompareAttr", "LogicalObj", "QueryAttr")
TASK_TYPES = Registry("task type", {  # task -> (type_structural, type_semantic, type_detailed)
    "ChooseAttr": ("choose", "attr", "chooseAttr"),
    "ChooseCat": ("choose", "cat", "objThisChoose"),
    "ChooseRel": ("choose", "rel", "relChooser"),
    "CompareAttr": ("compare", "attr", "twoCommon"),
    "LogicalObj": ("logical", "obj", "existThatOr"),
    "QueryAttr": ("query", "attr", "positionQuery"),
})


def check_tasks(tasks) -> list[str]:
    """Validate task names; raise an error that lists the valid ones."""
    return TASK_TYPES.check(tasks)
