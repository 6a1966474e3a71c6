"""Samples and datasets: GQA task-file rows plus their images.

One row format serves the synthetic set and GQA task files: the paper's column names
(``question_id`` as a string, ``true option``, ``central object x`` ...). A dataset on
disk is a folder with ``questions.jsonl`` and ``images/<img_id>.png`` (or, for an imported
GQA set, the file a row's ``image_file`` names in the folder ``dataset.json`` points to).
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from ..errors import DataError, NotFoundError, UsageError, UserFileError
from ..paths import read_json, read_text
from .boxes import BOX_KEYS, BOX_PAINTINGS, box_problems, number, paint_box, related_objects
from .questions import DEFAULT_OBJECTS, MAKERS
from .scenes import Scene, SceneObject, render
from .tasks import TASK_TYPES, TASKS, check_tasks

COLUMNS = (
    "question_id", "img_id", "question", "answer", "task",
    "type_structural", "type_semantic", "type_detailed",
    "true option", "false option", "question word",
    *(f"central object {k}" for k in ("name", *BOX_KEYS)),
    *(f"object1 {k}" for k in ("name", *BOX_KEYS)),
    *(f"object2 {k}" for k in ("name", *BOX_KEYS)),
    "image_w", "image_h",
)
QUESTIONS_FILE = "questions.jsonl"


@dataclass
class Sample:
    """One question about one image. ``row`` holds the GQA-format columns."""

    row: dict
    source: Image.Image | Path  # the image, or its file: opened on each use, so a large set
    scene: Scene | None = field(default=None, repr=False)  # is never in memory all at once

    @property
    def image(self) -> Image.Image:
        if isinstance(self.source, Image.Image):
            return self.source
        from PIL import UnidentifiedImageError
        try:
            with Image.open(self.source) as im:
                return im.convert("RGB")  # decodes it: a truncated file fails here
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as e:
            raise UserFileError(f"the image {str(self.source)!r} of question "
                                f"{self.row.get('question_id')!r} cannot be read ({e}); replace the "
                                "file, or remove the question from the dataset") from None

    @property
    def task(self) -> str:
        return self.row["task"]

    @property
    def question(self) -> str:
        return self.row["question"]

    @property
    def answer(self) -> str:
        return self.row["answer"]

    @property
    def box_painting(self) -> str:
        """How this row's boxes become pixels (``BOX_PAINTINGS``): a synthetic row (one with its
        ``scene``) has exact pixel boxes; any other row (the paper's GQA files, a user's) is
        painted as the paper's code paints it. A row may say so itself (``box painting``)."""
        return self.row.get("box painting") or ("exact" if "scene" in self.row else "paper")

    def related_boxes(self) -> list[tuple[float, float, float, float]]:
        """Pixels of the objects the question is about (paper section 3.3), as half-open boxes
        (x, y, w, h): pixels x .. x+w-1 across, y .. y+h-1 down; painted as ``box_painting``
        says and clipped to the image (a box with no pixel in the image gives none)."""
        return [box for box, _ in self.painted_boxes()]

    def painted_boxes(self) -> list[tuple[tuple[float, float, float, float], dict]]:
        """(half-open box, facts) per related object with a pixel in the image; facts name the
        object and, for a box that ran past the image, by how many pixels (``clipped``)."""
        size = [number(self.row.get(k)) for k in ("image_w", "image_h")]
        out = []
        for prefix in related_objects(self.row):
            box = tuple(float(self.row[f"{prefix} {k}"]) for k in BOX_KEYS)
            painted = paint_box(box, self.box_painting, *size)
            if painted is not None:
                out.append((painted[0], {"object": prefix, **painted[1]}))
        return out


def place_on_canvas(sample: Sample, width: int, height: int, left: int = 0, top: int = 0) -> Sample:
    """The sample with its image pasted at (left, top) on a ``width`` x ``height`` canvas of the
    image's corner colour, every box moved with it (other aspect ratios, same question)."""
    w, h = sample.image.size
    if not (0 <= left and left + w <= width and 0 <= top and top + h <= height):
        raise UsageError(f"a {w}x{h} image at ({left}, {top}) does not fit a {width}x{height} canvas")
    canvas = Image.new(sample.image.mode, (width, height), sample.image.getpixel((0, 0)))
    canvas.paste(sample.image, (left, top))
    row = dict(sample.row, image_w=width, image_h=height)
    for prefix in related_objects(row):
        row[f"{prefix} x"] = float(row[f"{prefix} x"]) + left
        row[f"{prefix} y"] = float(row[f"{prefix} y"]) + top
    return Sample(row, canvas, None)


def _object_columns(prefix: str, obj) -> dict:
    if isinstance(obj, SceneObject):
        return {f"{prefix} name": obj.name, **{f"{prefix} {k}": v for k, v in zip(BOX_KEYS, obj.bbox)}}
    return {f"{prefix} name": "-", **{f"{prefix} {k}": "-" for k in BOX_KEYS}}


def make_sample(task: str, rng: np.random.Generator, index: int, prefix: str = "s",
                n_objects: tuple[int, int] = DEFAULT_OBJECTS) -> Sample:
    """Draw one sample of ``task`` from ``rng`` (scenes of n_objects[0]..n_objects[1] objects)."""
    check_tasks([task])
    scene, question, answer, info = MAKERS[task](rng, n_objects)
    structural, semantic, detailed = TASK_TYPES[task]
    img_id = f"{prefix}{index:06d}"
    row = {c: "-" for c in COLUMNS}
    row.update({
        "question_id": f"{task}-{index:06d}", "img_id": img_id, "question": question,
        "answer": answer, "task": task, "type_structural": structural,
        "type_semantic": semantic, "type_detailed": detailed,
        "true option": info.get("true_option", "-"), "false option": info.get("false_option", "-"),
        "question word": info.get("question_word", "-"),
        "image_w": scene.width, "image_h": scene.height,
    })
    for key, prefix_ in (("central", "central object"), ("object1", "object1"), ("object2", "object2")):
        if key in info:
            row.update(_object_columns(prefix_, info[key]))
    row["scene"] = json.loads(json.dumps(scene.to_dict()))  # as stored on disk (lists)
    return Sample(row, render(scene), scene)


def check_seed(seed) -> int:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        try:
            if isinstance(seed, str) and seed.strip().lstrip("-").isdigit():
                return int(seed)
        except ValueError:
            pass
        raise UsageError(f"seed must be an integer, got {seed!r}; pass e.g. --seed 0")
    return int(seed)


def generate(seed, n_per_task: int, tasks=TASKS) -> list[Sample]:
    """Deterministic split: each task gets its own stream seeded by (seed, task index)."""
    seed = check_seed(seed)
    samples = []
    for t in check_tasks(tasks):
        rng = np.random.default_rng([seed, TASKS.index(t)])
        base = TASKS.index(t) * 1_000_000
        samples.extend(make_sample(t, rng, base + i) for i in range(n_per_task))
    return samples


def save(samples: list[Sample], out: Path) -> Path:
    """Write ``questions.jsonl`` and ``images/*.png`` under ``out``."""
    out = Path(out)
    from ..paths import writing
    with writing("the dataset", out):
        (out / "images").mkdir(parents=True, exist_ok=True)
        with open(out / QUESTIONS_FILE, "w") as f:
            for s in samples:
                f.write(json.dumps(s.row, sort_keys=True) + "\n")
                s.image.save(out / "images" / f"{s.row['img_id']}.png", optimize=True)
    return out


def load(folder: Path, tasks=None, max_per_task: int | None = None) -> list[Sample]:
    """Read a dataset folder written by ``save`` (or a GQA-format JSONL with images)."""
    folder = Path(folder)
    qfile = folder / QUESTIONS_FILE
    if not qfile.is_file():
        raise NotFoundError(f"no {QUESTIONS_FILE} in {str(folder)!r}; a dataset folder holds "
                                f"{QUESTIONS_FILE} and images/<img_id>.png")
    wanted = set(check_tasks(tasks)) if tasks else None
    if max_per_task is not None and (isinstance(max_per_task, bool) or not isinstance(max_per_task, int)
                                     or max_per_task < 1):
        raise UsageError(f"max samples per task (--max-samples) must be a positive integer, got "
                         f"{max_per_task!r}; leave it out to use every sample")
    rows = _read_rows(qfile)
    images = images_dir(folder)
    counts: dict[str, int] = {}
    samples = []
    for row in rows:
        t = row["task"]
        if wanted is not None and t not in wanted:
            continue
        if max_per_task is not None and counts.get(t, 0) >= max_per_task:
            continue
        counts[t] = counts.get(t, 0) + 1
        path = images / row.get("image_file", f"{row['img_id']}.png")
        if not path.is_file():
            raise NotFoundError(f"{qfile}: question {row['question_id']!r} needs image {str(path)!r}, "
                                "which does not exist")
        scene = Scene.from_dict(row["scene"]) if "scene" in row else None
        samples.append(Sample(row, path, scene))
    return samples


DATASET_FILE = "dataset.json"  # optional: {"images_dir": ...}, e.g. an imported GQA set's images


def images_dir(folder: Path) -> Path:
    """Where a dataset's images are: ``dataset.json``'s ``images_dir`` (relative to the folder
    or absolute; an imported GQA set reads the GQA images in place), else ``images/``."""
    meta = Path(folder) / DATASET_FILE
    if meta.exists():
        given = read_json(meta, "the dataset's file", 'it holds {"images_dir": "<folder of the images>"}'
                          " (or delete it to read images/)").get("images_dir")
        if given is not None and (not isinstance(given, str) or not given.strip()):
            raise UserFileError(f"{meta}: 'images_dir' must be a folder path (a string), got "
                                f"{given!r}; write the path of the images folder, or delete the file "
                                "to read images/")
        if given:
            return Path(folder) / given  # an absolute path stays absolute
    return Path(folder) / "images"


REQUIRED_COLUMNS = ("question_id", "task", "img_id", "question", "answer")


def dataset_fingerprint(folder: Path) -> str:
    """16 hex digits of sha256 over the questions file (rows, answers, boxes). Images are not
    hashed (reading every image of a large set twice costs more than it protects)."""
    import hashlib
    return hashlib.sha256((Path(folder) / QUESTIONS_FILE).read_bytes()).hexdigest()[:16]


def _read_rows(qfile: Path) -> list[dict]:
    """Every row of a questions file, checked: valid JSON, the required columns, a known
    task type, an image id that names a file inside the dataset folder, unique question ids.
    Errors name the file, the line and the question id."""
    rows, seen = [], {}
    text = read_text(qfile, "the dataset's questions file", "every line is one JSON object (a question)")
    if not text.strip():
        raise DataError(f"the dataset's questions file {str(qfile)!r} is empty; every line is one JSON "
                        "object (a question): write the questions, or pass another --dataset")
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as e:
            raise DataError(f"{qfile}, line {n}: not valid JSON ({e.msg} at column {e.colno})") from None
        if not isinstance(row, dict):
            raise DataError(f"{qfile}, line {n}: a row must be a JSON object, got {type(row).__name__}")
        missing = [c for c in REQUIRED_COLUMNS if c not in row]
        if missing:
            raise DataError(f"{qfile}, line {n} (question {row.get('question_id', '?')!r}): missing "
                            f"column {missing[0]!r}; every row needs {', '.join(REQUIRED_COLUMNS)}")
        row["question_id"] = str(row["question_id"])
        if not row["question_id"].strip():
            raise DataError(f"{qfile}, line {n}: question_id is empty; every row needs a unique id")
        if row["task"] not in TASK_TYPES:
            raise DataError(f"{qfile}, line {n} (question {row['question_id']!r}): "
                            f"{TASK_TYPES.unknown(row['task'])}")
        img = str(row.get("image_file", row["img_id"]))
        if not img or img != Path(img).name or img in (".", ".."):
            raise DataError(f"{qfile}, line {n} (question {row['question_id']!r}): img_id {img!r} "
                            "must be a plain file name inside the dataset's images/ folder "
                            "(no path, no '..')")
        for key in ("question", "answer"):
            if not isinstance(row[key], str) or not row[key].strip():
                raise DataError(f"{qfile}, line {n} (question {row['question_id']!r}): {key} must be "
                                f"a non-empty string, got {row[key]!r}")
        if row.get("box painting") not in (None, *BOX_PAINTINGS):
            raise DataError(f"{qfile}, line {n} (question {row['question_id']!r}): box painting "
                            f"{row['box painting']!r} is not one of {', '.join(BOX_PAINTINGS)}; "
                            "leave it out for the paper's ('paper')")
        problems = box_problems(row, related_objects(row))
        if problems:
            raise DataError(f"{qfile}, line {n} (question {row['question_id']!r}): {problems[0][1]}")
        seen.setdefault(row["question_id"], []).append(n)
        rows.append(row)
    duplicates = {q: lines for q, lines in seen.items() if len(lines) > 1}
    if duplicates:
        first = ", ".join(f"{q!r} (lines {', '.join(map(str, ls))})"
                          for q, ls in list(duplicates.items())[:3])
        raise DataError(f"{qfile}: {len(duplicates)} question id(s) appear more than once: {first}; "
                        "question ids must be unique")
    return rows


def select_samples(dataset, tasks=None, max_samples: int | None = None):
    """Samples of the dataset folder, optionally only ``tasks`` and at most N per task."""
    from ..paths import EVAL_SPLIT
    tasks = check_tasks(tasks) if tasks else list(TASKS)
    samples = load(dataset or EVAL_SPLIT, tasks=tasks, max_per_task=max_samples)
    if not samples:
        raise DataError(f"dataset {str(dataset or EVAL_SPLIT)!r} has no samples of tasks "
                         f"{', '.join(tasks)}")
    return samples
