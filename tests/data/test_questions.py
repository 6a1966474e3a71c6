"""Questions: answers follow the scene graph, options and answers are balanced."""
import re
from collections import Counter

import pytest

from flowcheck.data import dataset
from flowcheck.data.questions import ATTRIBUTES, TASKS

pytestmark = pytest.mark.fast  # the quick tier: make test-fast

SAMPLES = dataset.generate(11, 300)


def by_task(task):
    return [s for s in SAMPLES if s.task == task]


def _answer_from_scene(s):
    """Recompute the answer from the scene graph and the question text alone."""
    scene, q = s.scene, s.question
    if s.task == "ChooseAttr":
        shape, a, b = re.match(r"Is the (\w+) (\w+) or (\w+)\?", q).groups()
        obj = scene.find(shape)
        values = {getattr(obj, k) for k in ATTRIBUTES}
        assert len({a, b} & values) == 1
        return ({a, b} & values).pop()
    if s.task == "ChooseCat":
        value, a, b = re.match(r"Which shape is (\w+), the (\w+) or the (\w+)\?", q).groups()
        has = [x for x in (a, b) if scene.find(x) and value in
               {getattr(scene.find(x), k) for k in ATTRIBUTES}]
        assert len(has) == 1
        return has[0]
    if s.task == "ChooseRel":
        o1, a, b, o2 = re.match(r"Is the (\w+) to the (\w+) or to the (\w+) of the (\w+)\?", q).groups()
        x1, x2 = scene.find(o1).center_x, scene.find(o2).center_x
        return "left" if x1 < x2 else "right"
    if s.task == "CompareAttr":
        o1, o2 = re.match(r"What do the (\w+) and the (\w+) have in common\?", q).groups()
        common = [k for k in ATTRIBUTES if getattr(scene.find(o1), k) == getattr(scene.find(o2), k)]
        assert len(common) == 1
        return common[0]
    if s.task == "LogicalObj":
        (c1, s1), (c2, s2) = re.findall(r"an? (\w+) (\w+)", q)
        found = any(scene.find(sh) and scene.find(sh).color == c for c, sh in ((c1, s1), (c2, s2)))
        return "yes" if found else "no"
    if s.task == "QueryAttr":
        shape = re.match(r"On which side of the image is the (\w+)\?", q).group(1)
        return "left" if scene.find(shape).center_x < scene.width / 2 else "right"
    raise AssertionError(s.task)


@pytest.mark.parametrize("task", TASKS)
def test_answers_agree_with_scene_graph(task):
    for s in by_task(task):
        assert _answer_from_scene(s) == s.answer, (s.question, s.scene)


@pytest.mark.parametrize("task", ["ChooseAttr", "ChooseCat", "ChooseRel"])
def test_true_option_first_about_half_the_time(task):
    first = [s.question.index(s.row["true option"]) < s.question.index(s.row["false option"])
             for s in by_task(task)]
    assert 0.4 < sum(first) / len(first) < 0.6


@pytest.mark.parametrize("task", ["ChooseRel", "CompareAttr", "LogicalObj", "QueryAttr"])
def test_answers_balanced(task):
    counts = Counter(s.answer for s in by_task(task))
    share = min(counts.values()) / max(counts.values())
    assert share > 0.75, counts


@pytest.mark.parametrize("task", TASKS)
def test_rows_have_gqa_columns(task):
    for s in by_task(task)[:20]:
        assert set(dataset.COLUMNS) <= set(s.row)
        assert isinstance(s.row["question_id"], str)
        assert s.related_boxes(), "every question names at least one object in the image"
        for x, y, w, h in s.related_boxes():
            assert 0 <= x and x + w <= s.row["image_w"] and 0 <= y and y + h <= s.row["image_h"]


def test_logicalobj_has_absent_objects():
    rows = [s.row for s in by_task("LogicalObj")]
    assert sum(r["object2 name"] == "-" or r["object1 name"] == "-" for r in rows) > len(rows) / 3


def test_unknown_task_is_a_clear_error():
    with pytest.raises(ValueError, match=r"unknown task type 'ChooseColour'.*ChooseAttr"):
        dataset.generate(0, 1, ["ChooseColour"])


@pytest.mark.parametrize("seed", ["abc", 1.5, None, True])
def test_seed_must_be_integer(seed):
    with pytest.raises(ValueError, match="seed must be an integer"):
        dataset.generate(seed, 1)


def test_save_load_round_trip(tmp_path):
    samples = dataset.generate(5, 2)
    dataset.save(samples, tmp_path / "d")
    back = dataset.load(tmp_path / "d")
    assert [s.row for s in back] == [s.row for s in samples]
    assert [s.image.tobytes() for s in back] == [s.image.tobytes() for s in samples]


def test_save_to_unwritable_folder(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(OSError, match="cannot write the dataset to .*--out"):
        dataset.save(dataset.generate(0, 1), blocker / "sub")


def test_frozen_eval_split_is_what_its_seed_gives():
    from flowcheck.paths import EVAL_SPLIT
    frozen = dataset.load(EVAL_SPLIT)
    assert Counter(s.task for s in frozen) == {t: 120 for t in TASKS}
    regenerated = dataset.generate(2025, 3)
    by_id = {s.row["question_id"]: s for s in frozen}
    for s in regenerated:
        assert by_id[s.row["question_id"]].row == s.row
