"""Boxes of the question's objects: which objects count (the paper's rule), what makes a box
unusable, and how a box becomes pixels (its painting).

GQA-format rows give a box as (x, y, w, h). The paper's code paints it into its mask as PIL's
inclusive rectangle (x, y, x+w, y+h): w+1 x h+1 pixels, clipped to the image (``paper``).
flowcheck's synthetic scenes record each object's exact pixel extent (``exact``: the box as
given, pixels x .. x+w-1). ``paint_box`` returns the pixels as a half-open box either way.
"""
from __future__ import annotations

import math

BOX_KEYS = ("x", "y", "w", "h")


def paint_box(box, painting: str, image_w: float | None = None, image_h: float | None = None):
    """The pixels a box stands for, as a half-open box (x, y, w, h), and facts about it:
    ``paper`` paints (x, y, x+w, y+h) inclusively (w+1 x h+1 pixels, PIL's rectangle, as the
    paper's code draws its mask), ``exact`` takes the box as it is; both clipped to the image
    when its size is given ({'clipped': pixels} when they ran past it). None: no pixel inside."""
    x, y, w, h = box
    grow = 1.0 if painting == "paper" else 0.0
    x0, y0, x1, y1 = x, y, x + w + grow, y + h + grow
    facts = {}
    if image_w is not None and image_h is not None:
        overrun = max(-x, -y, x + w - image_w, y + h - image_h)  # of the box as given
        if overrun > 0:
            facts["clipped"] = overrun
        x0, y0, x1, y1 = max(x0, 0.0), max(y0, 0.0), min(x1, image_w), min(y1, image_h)
        if x1 <= x0 or y1 <= y0:
            return None
    return (x0, y0, x1 - x0, y1 - y0), facts


BOX_PAINTINGS = {
    "paper": "each box painted as the paper's code paints it: PIL's inclusive rectangle "
             "(x, y, x+w, y+h), one pixel wider and taller than the half-open box, clipped to the image",
    "exact": "each box is the object's exact pixel extent (half-open: x .. x+w-1), as flowcheck's "
             "synthetic scenes record it",
}


def number(value):
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def related_objects(row: dict) -> list[str]:
    """The columns of the objects the question is about, as the paper's code picks them: the
    central object where there is one; else object1, and object2 only where its box is given
    (LogicalObj names an object2 that is not in the image with box '-': it has no pixels)."""
    if row.get("central object name", "-") not in ("-", None, ""):
        return ["central object"]
    return [p for p in ("object1", "object2")
            if row.get(f"{p} name", "-") not in ("-", None, "")
            and str(row.get(f"{p} x", "-")).strip() != "-"]


def box_problems(row: dict, prefixes) -> list[tuple[str, str]]:
    """(kind, message) of each problem of the boxes of ``prefixes`` ('central object', ...):
    an image_w/image_h (when present) that is not a positive number, box values that are not
    finite numbers, a zero-area box. A box that runs past the image is no problem: it is
    clipped when painted, as the paper's mask clips it (``Sample.painted_boxes``). Shared by
    the dataset reader (which stops at the first) and the GQA importer (which counts them)."""
    size = {k: number(row[k]) for k in ("image_w", "image_h") if k in row}
    for k, v in size.items():
        if v is None or v <= 0:
            return [("image_w/image_h not positive numbers",
                     f"{k} must be a positive number, got {row[k]!r}")]
    out = []
    for prefix in prefixes:
        x, y, w, h = (number(row.get(f"{prefix} {k}")) for k in BOX_KEYS)
        if None in (x, y, w, h):
            got = {k: row.get(f"{prefix} {k}") for k in BOX_KEYS}
            out.append(("box values that are not numbers",
                        f"the {prefix} box must be four finite numbers x, y, w, h; got {got}"))
        elif w <= 0 or h <= 0:
            out.append(("boxes of zero area", f"the {prefix} box has zero area (w={w:g}, h={h:g})"))
    return out
