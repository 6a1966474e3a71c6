"""The reference model's training curriculum and batches (no model, no torch)."""
import numpy as np

from flowcheck.data.questions import TASKS
from flowcheck.reference.batches import LOOKUP_TASKS, draw_batch, objects_at, tasks_at, text_share_at
from flowcheck.reference.train import _task_weights


def test_curriculum_starts_easy_and_ends_on_the_evaluation_setting():
    steps = 1000
    assert tasks_at(0, steps) == LOOKUP_TASKS and objects_at(0, steps) == (1, 1)
    assert tasks_at(steps - 1, steps) == TASKS and objects_at(steps - 1, steps) == (3, 4)
    shares = [text_share_at(s, steps) for s in range(steps)]
    assert shares == sorted(shares, reverse=True) and shares[-1] > 0


def test_task_weights_are_zero_outside_the_phase_and_favour_wrong_tasks():
    w = _task_weights({"ChooseAttr": 1.0, "ChooseCat": 0.0}, LOOKUP_TASKS)
    assert all(w[TASKS.index(t)] == 0 for t in TASKS if t not in LOOKUP_TASKS)
    assert w[TASKS.index("ChooseCat")] > w[TASKS.index("ChooseAttr")] > 0


def test_batches_only_hold_the_phase_tasks_and_are_deterministic():
    w = _task_weights(None, LOOKUP_TASKS)
    texts, images, kinds, scenes = draw_batch(3, 17, 40, w, 0.25, (2, 2), 0.5)
    again = draw_batch(3, 17, 40, w, 0.25, (2, 2), 0.5)
    assert texts == again[0] and kinds == again[2]
    assert {k.removesuffix("-text") for k in kinds} <= set(LOOKUP_TASKS) | {"caption"}
    assert len(images) == len(scenes) == sum(not k.endswith("-text") for k in kinds)
    assert all(len(s.objects) == 2 for s in scenes)
    assert all(np.asarray(im).shape[:2] == (64, 64) for im in images)
