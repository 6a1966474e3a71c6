"""Training batches for the reference model: QA samples, captions, patch labels.

Captions come in two kinds, half each: the whole scene left to right ('Describe the
image.') and one named object ('Describe the circle.'); both put the attribute words in
lower case mid-sentence, while QA answers after 'ASSISTANT:' are capitalised.

Each step's batch is drawn from ``default_rng([seed, TRAIN_STREAM, step])``, so any step
can be re-created on its own (training resumes exactly) and never overlaps the frozen
evaluation split, which uses another stream.
"""
from __future__ import annotations

import numpy as np

from ..data.dataset import make_sample
from ..data.questions import TASKS
from ..data.scenes import ATTRIBUTES, COLORS, PATTERNS, SHAPES, SIZES, Scene, object_map
from ..models.prompts import IMAGE_TOKEN, capitalise, caption_prompt, llava15_prompt

TRAIN_STREAM = 7
PATCH_LABELS = {"shape": SHAPES, "color": tuple(COLORS), "size": tuple(SIZES), "pattern": PATTERNS,
                "side": ("left", "right")}


def _phrase(scene: Scene, o) -> str:
    return f"a {o.size} {o.color} {o.pattern} {o.shape} on the {scene.side_of(o)}"


def caption(scene: Scene) -> str:
    """Lower-case description, objects left to right: 'A small red plain circle on the left , ...'."""
    objs = sorted(scene.objects, key=lambda o: (o.center_x, o.bbox[1]))
    return capitalise(" , ".join(_phrase(scene, o) for o in objs) + " .")


def describe(scene: Scene, obj) -> str:
    """Lower-case description of one object: 'A small red plain circle on the left .'."""
    return capitalise(_phrase(scene, obj) + " .")


def patch_labels(scene: Scene, patch: int) -> dict[str, np.ndarray]:
    """Per patch (raster order): the attribute index of the object covering most of it.

    Label 0 is background (less than an eighth of the patch covered by any object).
    """
    omap = object_map(scene)
    g = scene.height // patch
    blocks = omap.reshape(g, patch, g, patch).transpose(0, 2, 1, 3).reshape(g * g, patch * patch)
    out = {k: np.zeros(g * g, dtype=np.int64) for k in PATCH_LABELS}
    for p, block in enumerate(blocks):
        ids, counts = np.unique(block[block >= 0], return_counts=True)
        if len(ids) and counts.max() * 8 >= patch * patch:
            obj = scene.objects[int(ids[counts.argmax()])]
            for k in PATCH_LABELS:
                out[k][p] = 1 + label_index(scene, obj, k)
    return out


def label_index(scene: Scene, obj, kind: str) -> int:
    """Index of ``obj``'s value of ``kind`` (an attribute, its shape, or its side of the
    image) in ``PATCH_LABELS[kind]``."""
    value = scene.side_of(obj) if kind == "side" else obj.attribute(kind)
    return PATCH_LABELS[kind].index(value)


LOOKUP_TASKS = ("ChooseAttr", "ChooseCat", "QueryAttr")  # one object, one attribute read


def tasks_at(step: int, steps: int) -> tuple[str, ...]:
    """Curriculum: single-object lookups for the first 25% of steps, then all six tasks."""
    return LOOKUP_TASKS if step < 0.25 * steps else TASKS


def objects_at(step: int, steps: int) -> tuple[int, int]:
    """Curriculum: one object per scene for the first 10% of steps (reading an attribute
    off the image needs no binding yet), 2 up to 25%, 2-3 up to 40%, then 3-4 (the
    evaluation split's scenes have 3-4)."""
    for until, n in ((0.10, (1, 1)), (0.25, (2, 2)), (0.40, (2, 3))):
        if step < until * steps:
            return n
    return (3, 4)


def text_share_at(step: int, steps: int) -> float:
    """Share of QA samples asked about a written description instead of the image:
    half while the lookup logic forms (first 20%), a quarter up to 40%, then a tenth."""
    if step < 0.2 * steps:
        return 0.5
    return 0.25 if step < 0.4 * steps else 0.1


def text_only_prompt(scene: Scene, question: str) -> str:
    """The QA prompt with the lower-case scene description where the image would be."""
    return llava15_prompt(question).replace(f"{IMAGE_TOKEN}\n", f"{caption(scene)}\n")


QUERY_KINDS = ("color", "size", "pattern")


def attribute_query(scene: Scene, rng: np.random.Generator) -> tuple[str, str]:
    """An open question about one object's attribute ('What color is the circle?', 'red').

    Training only (not one of the six task types): unlike the two-option questions, it
    cannot be answered by checking which option appears anywhere in the scene, so it
    forces the model to bind the named shape to its own attributes."""
    obj = scene.objects[int(rng.integers(len(scene.objects)))]
    kind = QUERY_KINDS[int(rng.integers(len(QUERY_KINDS)))]
    return f"What {kind} is the {obj.shape}?", obj.attribute(kind)


def draw_batch(seed: int, step: int, size: int, task_weights: np.ndarray, caption_share: float,
               n_objects: tuple[int, int] = (3, 4), text_share: float = 0.0,
               query_share: float = 0.0, return_samples: bool = False):
    """(texts, images, kinds, scenes) of the image rows only for images/scenes.

    ``kinds[i]`` is a task name, 'caption', 'query' (an open attribute question, a share
    ``query_share`` of the QA rows), or '<task>-text' for a text-only QA sample (no image:
    the question is asked about a written description of the scene). With
    ``return_samples`` a fifth list holds, per text, the Sample a task row asks about
    (None for other rows): route shaping needs its token groups."""
    rng = np.random.default_rng([seed, TRAIN_STREAM, step])
    sources = []
    n_caption = int(round(size * caption_share))
    tasks = rng.choice(len(TASKS), size=size - n_caption, p=task_weights / task_weights.sum())
    texts, images, kinds, scenes = [], [], [], []
    allowed = np.flatnonzero(task_weights > 0)  # captions use a scene of an allowed task
    for i, t in enumerate(list(tasks) + [-1] * n_caption):
        task = TASKS[int(t)] if t >= 0 else TASKS[int(allowed[rng.integers(len(allowed))])]
        s = make_sample(task, rng, step * size + i, prefix="t", n_objects=n_objects)
        sources.append(s if t >= 0 else None)
        if t >= 0 and rng.random() < query_share:
            sources[-1] = None
            question, answer = attribute_query(s.scene, rng)
            texts.append(f"{llava15_prompt(question)} {capitalise(answer)}")
            kinds.append("query")
        elif t >= 0 and rng.random() < text_share:
            texts.append(f"{text_only_prompt(s.scene, s.question)} {capitalise(s.answer)}")
            kinds.append(f"{task}-text")
            sources[-1] = None
            continue
        elif t >= 0:
            texts.append(f"{llava15_prompt(s.question)} {capitalise(s.answer)}")
            kinds.append(task)
        elif i % 2:  # the whole scene, left to right
            texts.append(f"{caption_prompt()} {caption(s.scene)}")
            kinds.append("caption")
        else:  # one object the request names: grounds the shape word in its patches
            obj = s.scene.objects[int(rng.integers(len(s.scene.objects)))]
            texts.append(f"{caption_prompt(obj.shape)} {describe(s.scene, obj)}")
            kinds.append("caption")
        images.append(s.image)
        scenes.append(s.scene)
    if return_samples:
        return texts, images, kinds, scenes, sources
    return texts, images, kinds, scenes


if not set(ATTRIBUTES) <= set(PATCH_LABELS):  # every scene attribute has a patch label
    raise RuntimeError(f"patch labels miss attributes {sorted(set(ATTRIBUTES) - set(PATCH_LABELS))}")
