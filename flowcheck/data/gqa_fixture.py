"""A small GQA-format fixture: the six task files in the real column layout, with JPEG images
at real GQA sizes, made here from synthetic scenes (``fixtures/data/gqa-mini``).

Each synthetic sample's 64x64 scene is scaled up by an integer factor and pasted into a
canvas of a real GQA size (500x375, 375x500, 640x480, 500x333); its boxes move with it.

Built like the paper's files, quirks included: a LogicalObj question names an object2 that is
not in the image with its id and box "-" (as 910 of the paper's 991 LogicalObj rows do), and
the last row of each two-object task has a box that runs one pixel past the image edge (as
100 of the paper's rows do, 93 of them by one pixel).
"""
from __future__ import annotations

import csv
from pathlib import Path

from .gqa import BOX, OBJECTS, OPTIONS, TASK_FILES

SIZES = ((500, 375), (375, 500), (640, 480), (500, 333))
EXTRA = ("operations", "captions")  # real columns flowcheck does not read


def _scaled(sample, width: int, height: int):
    """(image, box offset/scale) of the sample's scene scaled into a width x height canvas."""
    from PIL import Image
    img = sample.image
    factor = max(1, min(width, height) // img.size[0])
    big = img.resize((img.size[0] * factor, img.size[1] * factor), Image.NEAREST)
    left, top = (width - big.size[0]) // 2, (height - big.size[1]) // 2
    canvas = Image.new("RGB", (width, height), img.getpixel((0, 0)))
    canvas.paste(big, (left, top))
    return canvas, factor, left, top


def write_gqa_fixture(out: Path, per_task: int = 4, seed: int = 11) -> Path:
    """Six task files (``csv/``) and ``images/{img_id}.jpg``; question ids with leading zeros."""
    import numpy as np

    from .dataset import make_sample
    out = Path(out)
    (out / "csv").mkdir(parents=True, exist_ok=True)
    (out / "images").mkdir(parents=True, exist_ok=True)
    n = 0
    for t_index, (task, name) in enumerate(TASK_FILES.items()):
        rng = np.random.default_rng([seed, t_index])
        objects = OBJECTS[task]
        cols = ["question_id", "img_id", "question", "answer"]
        cols += list(OPTIONS) if task.startswith("Choose") else []
        cols += [f"{o} {k}" for o in objects for k in ("name", "id")]
        cols += ["type_detailed", "type_semantic", "type_structural", *EXTRA, "image_w", "image_h"]
        cols += [f"{o} {k}" for o in objects for k in BOX]
        with open(out / "csv" / name, "w", newline="", encoding="utf-8") as f:
            writer = csv.DictWriter(f, fieldnames=cols)
            writer.writeheader()
            for i in range(per_task):
                s = make_sample(task, rng, i, prefix="g")
                w, h = SIZES[n % len(SIZES)]
                image, factor, left, top = _scaled(s, w, h)
                img_id = str(2300000 + n)
                image.save(out / "images" / f"{img_id}.jpg", quality=92)
                row = {"question_id": f"{n:08d}", "img_id": img_id, "question": s.question,
                       "answer": s.answer, "type_detailed": s.row.get("type_detailed", task),
                       "type_semantic": s.row.get("type_semantic", ""),
                       "type_structural": s.row.get("type_structural", ""),
                       "operations": "[]", "captions": "", "image_w": w, "image_h": h}
                for opt in OPTIONS:
                    if opt in cols:
                        row[opt] = s.row.get(opt, "-")
                for o in objects:
                    name_ = s.row.get(f"{o} name", "-")
                    row[f"{o} name"], row[f"{o} id"] = name_, ("-" if name_ == "-" else str(1000 + n))
                    for k in BOX:
                        v = s.row.get(f"{o} {k}", "-")
                        if name_ == "-" or v == "-":
                            row[f"{o} {k}"] = "-"
                        else:
                            v = float(v) * factor + (left if k == "x" else top if k == "y" else 0)
                            row[f"{o} {k}"] = int(v)
                if task == "LogicalObj" and row["object2 name"] == "-":
                    row["object2 name"] = _second_object(s.question)  # named, not in the image
                if "object2" in objects and i == per_task - 1 and row["object2 x"] != "-":
                    row["object2 w"] = w - row["object2 x"] + 1  # one pixel past the right edge
                writer.writerow(row)
                n += 1
    return out


def _second_object(question: str) -> str:
    """The object word after 'or' in 'Is there a red cross or a purple circle?'."""
    return question.rstrip("?").split(" or ")[-1].split()[-1]
