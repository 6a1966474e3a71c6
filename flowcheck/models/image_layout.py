"""Image-token layout: which pixels of the original image each image token stands for.

A processor maps the original image (W x H pixels) onto one or more grids of image tokens.
A ``Segment`` is one grid: original pixel coordinate (x, y) lands at processed coordinate
(x * sx + ox, y * sy + oy); cell (r, c) covers processed pixels [c*p, (c+1)*p) x
[r*p, (r+1)*p) and is image token ``offset + r * stride + c`` (offsets count from the first
image token of the prompt). Tokens no segment covers (LLaVA-NeXT's row newlines) stand for
no pixels: they are image tokens, but neither ``related`` nor ``other``.

``related`` is the paper's rule, in closed form: the official code draws the question
objects' boxes into a mask of the original image size, sends the mask through the same
resize as the image, and marks a token related when its cell holds a box pixel. A processed
pixel i holds a box pixel when its centre maps inside the box, X0 <= i + 0.5 < X1 (the
resize samples at pixel centres); ``tests/models/test_related_mask.py`` checks this rule
against the mask sent through each family's real image processor.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

EPS = 1e-9  # float slack at exact pixel-centre ties (a centre on the box edge is inside)


@dataclass(frozen=True)
class Segment:
    """One grid of image tokens (see the module doc for the coordinate mapping)."""

    name: str  # 'grid' (one-grid families), 'base' / 'hd' (LLaVA-NeXT)
    offset: int  # token offset of cell (0, 0) from the first image token
    rows: int
    cols: int
    stride: int  # token offset between rows (cols, or cols + 1 with a newline per row)
    cell: int  # processed pixels per cell side (the ViT patch)
    scale: tuple[float, float]  # (sx, sy): original -> processed pixels
    shift: tuple[float, float] = (0.0, 0.0)  # (ox, oy) processed pixels

    def offsets(self) -> list[int]:
        return [self.offset + r * self.stride + c for r in range(self.rows) for c in range(self.cols)]

    def _cells(self, a: float, b: float, n_cells: int) -> range:
        """Cells holding a processed pixel whose centre lies in [a, b)."""
        first, last = centred_pixels(a, b)
        first, last = max(first, 0), min(last, n_cells * self.cell - 1)
        if first > last:
            return range(0)
        return range(first // self.cell, last // self.cell + 1)

    def box_offsets(self, box) -> list[int]:
        """Token offsets of the cells that hold a pixel of ``box`` = (x, y, w, h), original px."""
        x, y, w, h = box
        (sx, sy), (ox, oy) = self.scale, self.shift
        cols = self._cells(x * sx + ox, (x + w) * sx + ox, self.cols)
        rows = self._cells(y * sy + oy, (y + h) * sy + oy, self.rows)
        return [self.offset + r * self.stride + c for r in rows for c in cols]


def centred_pixels(a: float, b: float) -> tuple[int, int]:
    """(first, last) processed pixel whose centre lies in [a, b) (first > last: none)."""
    return math.ceil(a - 0.5 - EPS), math.ceil(b - 0.5 - EPS) - 1


@dataclass(frozen=True)
class CellSegment:
    """A grid of image tokens whose cells are not one uniform grid, or whose image went through
    several resizes: token row i covers the processed-pixel intervals ``row_px[i]`` (half-open;
    several where a resize of the features blends source cells), column j ``col_px[j]``; token
    (i, j) is ``offset + i * stride + j``. The original image reaches the processed pixels
    through ``stages``, resizes in turn ((sx, sy) each, every one sampling at pixel centres as
    the mask method's nearest-neighbour resize does), then an integer ``shift`` (a tile's or a
    canvas's origin)."""

    name: str
    offset: int
    stride: int
    row_px: tuple[tuple[tuple[int, int], ...], ...]
    col_px: tuple[tuple[tuple[int, int], ...], ...]
    stages: tuple[tuple[float, float], ...]
    shift: tuple[int, int] = (0, 0)

    @property
    def rows(self) -> int:
        return len(self.row_px)

    @property
    def cols(self) -> int:
        return len(self.col_px)

    def offsets(self) -> list[int]:
        return [self.offset + r * self.stride + c for r in range(self.rows) for c in range(self.cols)]

    def _pixels(self, a: float, b: float, axis: int) -> tuple[int, int]:
        """(first, last) processed pixel holding a pixel of original [a, b) on ``axis``."""
        first, last = a, b
        for stage in self.stages:
            first, last = centred_pixels(a * stage[axis], b * stage[axis])
            a, b = first, last + 1  # the next resize samples these pixels' extent
        return first + self.shift[axis], last + self.shift[axis]

    @staticmethod
    def _hit(spans, first: int, last: int) -> list[int]:
        """Indices whose intervals hold a processed pixel in [first, last]."""
        return [k for k, intervals in enumerate(spans)
                if any(max(first, s) <= min(last, e - 1) for s, e in intervals)]

    def box_offsets(self, box) -> list[int]:
        x, y, w, h = box
        cols = self._hit(self.col_px, *self._pixels(x, x + w, 0))
        rows = self._hit(self.row_px, *self._pixels(y, y + h, 1))
        return [self.offset + r * self.stride + c for r in rows for c in cols]


@dataclass(frozen=True)
class ImageLayout:
    """Every image token of one image: ``n_tokens`` in all, the grids that cover them."""

    n_tokens: int
    segments: tuple[Segment | CellSegment, ...]
    notes: dict = field(default_factory=dict, compare=False)  # e.g. a tile layout that differs

    def segment(self, name: str) -> Segment | CellSegment | None:
        return next((s for s in self.segments if s.name == name), None)

    def covered(self) -> list[int]:
        return sorted(o for s in self.segments for o in s.offsets())

    def uncovered(self) -> list[int]:
        """Offsets that stand for no pixels (newline tokens)."""
        covered = set(self.covered())
        return [o for o in range(self.n_tokens) if o not in covered]

    def group(self, name: str, boxes) -> list[int]:
        """Offsets of a family's extra token group: a segment's name ('base', 'hd'), its related
        cells ('related_hd'), or 'newline' (the tokens that stand for no pixels)."""
        if name == "newline":
            return self.uncovered()
        if name.startswith("related_"):
            return self.related(boxes, name[len("related_"):])
        segment = self.segment(name)
        if segment is None:
            raise KeyError(f"no token group {name!r} in this layout (segments: "
                           f"{', '.join(s.name for s in self.segments)})")
        return segment.offsets()

    def related(self, boxes, segment: str | None = None) -> list[int]:
        """Offsets of the cells that hold a pixel of any box (in one segment, or all)."""
        out = set()
        for s in self.segments:
            if segment is None or s.name == segment:
                for box in boxes:
                    out.update(s.box_offsets(box))
        return sorted(out)


def single_grid(kind: str, size: int, crop: tuple[int, int], patch: int,
                image_w: int, image_h: int) -> ImageLayout:
    """One grid of patches after a CLIP-style transform of a W x H image.

    kind: 'crop' (resize the shortest edge to ``size``, centre-crop ``crop`` = (w, h)),
    'pad' (pad to a centred square, resize to ``size``), 'squash' (resize to ``crop``).
    """
    from ..errors import UsageError
    cw, ch = crop
    if kind == "crop":
        short, long_ = min(image_w, image_h), max(image_w, image_h)
        new_short, new_long = size, int(size * long_ / short)
        new_w, new_h = (new_long, new_short) if image_w >= image_h else (new_short, new_long)
        if image_w == image_h:
            new_w = new_h = size
        scale = (new_w / image_w, new_h / image_h)
        shift = (-((new_w - cw) // 2), -((new_h - ch) // 2))
    elif kind == "pad":
        side = max(image_w, image_h)
        s = cw / side
        scale, shift = (s, s), ((side - image_w) // 2 * s, (side - image_h) // 2 * s)
    elif kind == "squash":
        scale, shift = (cw / image_w, ch / image_h), (0.0, 0.0)
    else:
        raise UsageError(f"unknown image transform {kind!r}; use 'crop', 'pad' or 'squash'")
    cols, rows = cw // patch, ch // patch
    grid = Segment("grid", 0, rows, cols, cols, patch, scale, shift)
    return ImageLayout(rows * cols, (grid,))
