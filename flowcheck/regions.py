"""Token groups of one encoded sample, as index tuples into the expanded sequence.

- image: every position holding an image feature;
- question: the tokens of the raw question string only (found by character offsets);
- last: the final prompt position (predicts the first answer token);
- related: image patches touched by a box of an object the question is about, mapped
  through the same resize / pad / crop as the processor applies to the image;
- other: image patches that are not related (newline / padding tokens excluded).
"""
from __future__ import annotations

from dataclasses import dataclass

from .errors import DataError, UsageError


@dataclass(frozen=True)
class Regions:
    seq_len: int
    image: tuple[int, ...]
    question: tuple[int, ...]
    last: tuple[int, ...]
    related: tuple[int, ...]
    other: tuple[int, ...]

    def group(self, name: str) -> tuple[int, ...]:
        return getattr(self, name)


@dataclass(frozen=True)
class ImageTransform:
    """How the image processor maps an original image onto the model's patch grid.

    kind: 'crop' (resize the shortest edge to ``size``, centre-crop ``crop``; CLIP),
    'pad' (pad to a square, then resize to ``size`` x ``size``; original LLaVA-1.5),
    'squash' (resize to ``crop`` ignoring the aspect ratio).
    """

    kind: str
    size: int
    crop: tuple[int, int]  # (width, height) of the processed image
    patch: int

    @property
    def grid(self) -> tuple[int, int]:
        """(columns, rows) of patches."""
        return self.crop[0] // self.patch, self.crop[1] // self.patch

    def box_to_processed(self, box, image_w: int, image_h: int) -> tuple[float, float, float, float]:
        """(x, y, w, h) in original pixels -> (x0, y0, x1, y1) in processed pixels (continuous)."""
        x, y, w, h = box
        if self.kind == "crop":
            short, long_ = min(image_w, image_h), max(image_w, image_h)
            new_short, new_long = self.size, int(self.size * long_ / short)
            new_w, new_h = (new_long, new_short) if image_w >= image_h else (new_short, new_long)
            if image_w == image_h:
                new_w = new_h = self.size
            sx, sy = new_w / image_w, new_h / image_h
            left, top = (new_w - self.crop[0]) // 2, (new_h - self.crop[1]) // 2
            return x * sx - left, y * sy - top, (x + w) * sx - left, (y + h) * sy - top
        if self.kind == "pad":
            side = max(image_w, image_h)
            ox, oy = (side - image_w) // 2, (side - image_h) // 2
            s = self.crop[0] / side
            return (x + ox) * s, (y + oy) * s, (x + w + ox) * s, (y + h + oy) * s
        if self.kind == "squash":
            sx, sy = self.crop[0] / image_w, self.crop[1] / image_h
            return x * sx, y * sy, (x + w) * sx, (y + h) * sy
        raise UsageError(f"unknown image transform {self.kind!r}; use 'crop', 'pad' or 'squash'")


def related_patches(boxes, image_w: int, image_h: int, transform: ImageTransform) -> list[int]:
    """Raster indices of patches that any box overlaps (any pixel of a box inside the patch)."""
    cols, rows = transform.grid
    p = transform.patch
    out = set()
    for box in boxes:
        x0, y0, x1, y1 = transform.box_to_processed(box, image_w, image_h)
        for r in range(rows):
            for c in range(cols):
                if x0 < (c + 1) * p and x1 > c * p and y0 < (r + 1) * p and y1 > r * p:
                    out.add(r * cols + c)
    return sorted(out)


def question_positions(offsets, question_span: tuple[int, int]) -> list[int]:
    """Token indices whose character offsets lie inside the question's span."""
    a, b = question_span
    return [i for i, (s, e) in enumerate(offsets) if e > s and s >= a and e <= b]


def check_regions(regions: Regions, *, decoded_question: str, question: str,
                  n_image_features: int) -> None:
    """Self-checks: inside the sequence, disjoint, question decodes back, image count."""
    for name in ("image", "question", "last", "related", "other"):
        idx = regions.group(name)
        if any(i < 0 or i >= regions.seq_len for i in idx):
            raise DataError(f"token group {name!r} has positions outside the sequence "
                             f"(length {regions.seq_len}): {idx}")
    for a, b in (("image", "question"), ("image", "last"), ("question", "last"),
                 ("related", "other")):
        both = set(regions.group(a)) & set(regions.group(b))
        if both:
            raise DataError(f"token groups {a!r} and {b!r} overlap at positions {sorted(both)}")
    if not set(regions.related) | set(regions.other) <= set(regions.image):
        raise DataError("related/other patches must be image positions")
    if len(regions.image) != n_image_features:
        raise DataError(
            f"the prompt has {len(regions.image)} image tokens but the model inserts "
            f"{n_image_features} image features; use the model's own processor (its "
            "patch_size / vision_feature_select_strategy must match the model config)")
    if "".join(decoded_question.split()) != "".join(question.split()):
        raise DataError(f"question tokens decode to {decoded_question!r}, not to the question "
                         f"{question!r}; the tokenizer's offsets do not match the prompt")

