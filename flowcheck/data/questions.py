"""Questions of the paper's six GQA task types, asked about synthetic scenes.

Each ``make_<task>`` draws a scene (adjusted so the question is well posed), picks the
object(s) it is about and returns a row with the GQA task-file columns (see
``flowcheck.data.dataset.COLUMNS``). Answers are lower case, as in GQA; answers and
option order are balanced by drawing them first and building the scene to match.
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np

from .scenes import ATTRIBUTES, COLORS, PATTERNS, SHAPES, SIZES, Scene, SceneObject, random_scene
from .tasks import TASK_TYPES, TASKS  # noqa: F401  (re-exported)

DEFAULT_OBJECTS = (3, 4)  # objects per scene (min, max); at least 2 for every task
VALUES = {"color": tuple(COLORS), "size": tuple(SIZES), "pattern": PATTERNS}
ANSWER_WORDS = tuple(sorted(set(SHAPES) | set(COLORS) | set(SIZES) | set(PATTERNS)
                            | set(ATTRIBUTES) | {"left", "right", "yes", "no"}))


def _pick(rng: np.random.Generator, seq):
    return seq[int(rng.integers(len(seq)))]


def _article(word: str) -> str:
    return "an" if word[0] in "aeiou" else "a"


def _other_value(rng, kind: str, value: str) -> str:
    return _pick(rng, [v for v in VALUES[kind] if v != value])


def _with_object(scene: Scene, old: SceneObject, new: SceneObject) -> Scene:
    return replace(scene, objects=tuple(new if o is old else o for o in scene.objects))


def _options(rng, true: str, false: str) -> tuple[str, str, bool]:
    """(first, second, true_first): option order drawn 50/50."""
    true_first = bool(rng.integers(2))
    return (true, false, True) if true_first else (false, true, False)


def make_choose_attr(rng, n_objects=DEFAULT_OBJECTS):
    scene = random_scene(rng, n_objects=n_objects)
    obj = _pick(rng, scene.objects)
    kind = _pick(rng, ("color", "color", "size", "pattern"))
    true, false = obj.attribute(kind), _other_value(rng, kind, obj.attribute(kind))
    a, b, _ = _options(rng, true, false)
    q = f"Is the {obj.name} {a} or {b}?"
    return scene, q, true, dict(true_option=true, false_option=false, central=obj)


def make_choose_cat(rng, n_objects=DEFAULT_OBJECTS):
    scene = random_scene(rng, n_objects=n_objects)
    obj = _pick(rng, scene.objects)
    kind = _pick(rng, ("color", "color", "size", "pattern"))
    value = obj.attribute(kind)
    # false option: an absent shape, or a present one whose attribute differs
    candidates = [s for s in SHAPES if s != obj.shape
                  and (scene.find(s) is None or scene.find(s).attribute(kind) != value)]
    false = _pick(rng, candidates)
    a, b, _ = _options(rng, obj.shape, false)
    q = f"Which shape is {value}, the {a} or the {b}?"
    return scene, q, obj.shape, dict(true_option=obj.shape, false_option=false, central=obj)


def make_choose_rel(rng, n_objects=DEFAULT_OBJECTS):
    answer = _pick(rng, ("left", "right"))
    while True:
        scene = random_scene(rng, n_objects=n_objects)
        o1, o2 = (scene.objects[int(i)] for i in rng.choice(len(scene.objects), 2, replace=False))
        if scene.side_of(o1) != scene.side_of(o2):  # different image halves: unambiguous
            break
    if (o1.cell[1] < o2.cell[1]) != (answer == "left"):
        o1, o2 = o2, o1
    other = "right" if answer == "left" else "left"
    a, b, _ = _options(rng, answer, other)
    q = f"Is the {o1.name} to the {a} or to the {b} of the {o2.name}?"
    return scene, q, answer, dict(true_option=answer, false_option=other, object1=o1, object2=o2)


def make_compare_attr(rng, n_objects=DEFAULT_OBJECTS):
    """Two objects that share exactly one attribute; the answer names it."""
    answer = _pick(rng, ATTRIBUTES)
    scene = random_scene(rng, n_objects=n_objects)
    o1, o2 = (scene.objects[int(i)] for i in rng.choice(len(scene.objects), 2, replace=False))
    changes = {k: (o1.attribute(k) if k == answer else _other_value(rng, k, o1.attribute(k)))
               for k in ATTRIBUTES}
    new2 = replace(o2, **changes)
    if new2.size != o2.size:  # size changes the drawn box: place it again in its cell
        from .scenes import place_object
        new2 = place_object(new2.shape, new2.color, new2.size, new2.pattern, new2.cell, rng,
                            scene.width // scene.grid)
    scene = _with_object(scene, o2, new2)
    q = f"What do the {o1.name} and the {new2.name} have in common?"
    return scene, q, answer, dict(object1=o1, object2=new2, question_word="common")


def make_logical_obj(rng, n_objects=DEFAULT_OBJECTS):
    """'Is there a C1 S1 or a C2 S2?': yes when either conjunction is in the scene.

    S1 is always in the scene (object1, as in GQA's existThatOr rows); C1 S1 matches it or
    names it in another colour (a hard negative). S2 is mostly absent (object2 '-').
    """
    answer = _pick(rng, ("yes", "no"))
    scene = random_scene(rng, n_objects=n_objects)
    o1 = _pick(rng, scene.objects)
    others = [o for o in scene.objects if o is not o1]
    absent_shapes = [s for s in SHAPES if scene.find(s) is None]

    def wrong_colour(o):
        return (_other_value(rng, "color", o.color), o.shape)

    def non_match():  # absent shape, or a present one in another colour
        if absent_shapes and rng.random() < 0.75:
            return (_pick(rng, tuple(COLORS)), _pick(rng, absent_shapes))
        return wrong_colour(_pick(rng, others))

    if answer == "yes" and rng.integers(2):  # the first named object matches
        d1 = (o1.color, o1.shape)
        d2 = non_match() if rng.random() < 0.75 else (lambda o: (o.color, o.shape))(_pick(rng, others))
    elif answer == "yes":  # only the second matches
        d1, o2 = wrong_colour(o1), _pick(rng, others)
        d2 = (o2.color, o2.shape)
    else:
        d1, d2 = wrong_colour(o1), non_match()

    def match(d):
        o = scene.find(d[1])
        return o is not None and o.color == d[0]

    if ("yes" if match(d1) or match(d2) else "no") != answer:  # the generator's own invariant
        raise RuntimeError(f"LogicalObj answer {answer!r} contradicts the scene: {d1}, {d2}, {scene}")
    q = f"Is there {_article(d1[0])} {d1[0]} {d1[1]} or {_article(d2[0])} {d2[0]} {d2[1]}?"
    return scene, q, answer, dict(object1=o1, object2=scene.find(d2[1]) or d2[1],
                                  question_word="there")


def make_query_attr(rng, n_objects=DEFAULT_OBJECTS):
    answer = _pick(rng, ("left", "right"))
    while True:
        scene = random_scene(rng, n_objects=n_objects)
        objs = [o for o in scene.objects if scene.side_of(o) == answer]
        if objs:
            break
    obj = _pick(rng, objs)
    q = f"On which side of the image is the {obj.name}?"
    return scene, q, answer, dict(central=obj, question_word="side")


MAKERS = {
    "ChooseAttr": make_choose_attr,
    "ChooseCat": make_choose_cat,
    "ChooseRel": make_choose_rel,
    "CompareAttr": make_compare_attr,
    "LogicalObj": make_logical_obj,
    "QueryAttr": make_query_attr,
}
