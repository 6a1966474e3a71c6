"""Synthetic scenes: seeded scene graphs of simple objects, rendered with Pillow.

A scene is a grid of ``grid x grid`` cells; every object sits inside its own cell, so
objects never overlap and each object's pixel bounding box is exact. Object names are
their shapes and a shape appears at most once per scene, so "the circle" is unambiguous
(like the GQA ``central object``).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from PIL import Image, ImageDraw

from ..errors import UsageError

SHAPES = ("circle", "square", "triangle", "diamond", "cross")
COLORS = {
    "red": (220, 40, 40),
    "blue": (40, 90, 225),
    "green": (40, 170, 60),
    "yellow": (235, 205, 40),
    "purple": (145, 60, 185),
    "orange": (245, 135, 25),
}
SIZES = {"small": 8, "large": 14}
PATTERNS = ("plain", "striped")
ATTRIBUTES = ("color", "size", "pattern")
BACKGROUND = (235, 235, 235)
STRIPE_PERIOD = 3  # every third pixel row of a striped object is darkened


@dataclass(frozen=True)
class SceneObject:
    """One object: its attributes and its exact pixel bounding box (x, y, w, h)."""

    shape: str
    color: str
    size: str
    pattern: str
    cell: tuple[int, int]  # (row, col) in the layout grid
    bbox: tuple[int, int, int, int]

    @property
    def name(self) -> str:
        return self.shape

    def attribute(self, kind: str) -> str:
        return getattr(self, kind)

    @property
    def center_x(self) -> float:
        return self.bbox[0] + self.bbox[2] / 2


@dataclass(frozen=True)
class Scene:
    """A scene graph: image size, grid and objects (shapes unique)."""

    width: int
    height: int
    grid: int
    objects: tuple[SceneObject, ...]

    def find(self, shape: str) -> SceneObject | None:
        return next((o for o in self.objects if o.shape == shape), None)

    def side_of(self, obj: SceneObject) -> str:
        """'left' or 'right' half of the image (cells never straddle the middle)."""
        return "left" if obj.cell[1] < self.grid // 2 else "right"

    def to_dict(self) -> dict:
        return {"width": self.width, "height": self.height, "grid": self.grid,
                "objects": [asdict(o) for o in self.objects]}

    @classmethod
    def from_dict(cls, d: dict) -> "Scene":
        objs = tuple(SceneObject(o["shape"], o["color"], o["size"], o["pattern"],
                                 tuple(o["cell"]), tuple(o["bbox"])) for o in d["objects"])
        return cls(d["width"], d["height"], d["grid"], objs)


def _shape_mask(shape: str, side: int) -> np.ndarray:
    """Binary (side, side) mask of a shape drawn without anti-aliasing."""
    img = Image.new("L", (side, side), 0)
    d = ImageDraw.Draw(img)
    s = side - 1
    if shape == "circle":
        d.ellipse([0, 0, s, s], fill=1)
    elif shape == "square":
        d.rectangle([0, 0, s, s], fill=1)
    elif shape == "triangle":
        d.polygon([(0, s), (s, s), (s / 2, 0)], fill=1)
    elif shape == "diamond":
        d.polygon([(s / 2, 0), (s, s / 2), (s / 2, s), (0, s / 2)], fill=1)
    elif shape == "cross":
        t = max(2, side // 3)
        a = (side - t) // 2
        d.rectangle([a, 0, a + t - 1, s], fill=1)
        d.rectangle([0, a, s, a + t - 1], fill=1)
    else:
        raise UsageError(f"unknown shape {shape!r}; known shapes: {', '.join(SHAPES)}")
    return np.asarray(img, dtype=bool)


def place_object(shape, color, size, pattern, cell, rng: np.random.Generator, cell_px: int) -> SceneObject:
    """Put an object at a random offset inside its cell; bbox from the drawn pixels."""
    side = SIZES[size]
    left = cell[1] * cell_px + int(rng.integers(0, cell_px - side + 1))
    top = cell[0] * cell_px + int(rng.integers(0, cell_px - side + 1))
    ys, xs = np.nonzero(_shape_mask(shape, side))
    x0, y0 = left + int(xs.min()), top + int(ys.min())
    bbox = (x0, y0, left + int(xs.max()) + 1 - x0, top + int(ys.max()) + 1 - y0)
    return SceneObject(shape, color, size, pattern, tuple(cell), bbox)


def random_scene(rng: np.random.Generator, size: int = 64, grid: int = 4,
                 n_objects: tuple[int, int] = (3, 4)) -> Scene:
    """Draw a random scene: n objects with distinct shapes in distinct cells."""
    n = int(rng.integers(n_objects[0], n_objects[1] + 1))
    shapes = rng.choice(len(SHAPES), size=n, replace=False)
    cells = rng.choice(grid * grid, size=n, replace=False)
    cell_px = size // grid
    objs = []
    for s, c in zip(shapes, cells):
        objs.append(place_object(
            SHAPES[int(s)], list(COLORS)[int(rng.integers(len(COLORS)))],
            list(SIZES)[int(rng.integers(len(SIZES)))], PATTERNS[int(rng.integers(len(PATTERNS)))],
            (int(c) // grid, int(c) % grid), rng, cell_px))
    return Scene(size, size, grid, tuple(objs))


def _object_pixels(obj: SceneObject) -> tuple[np.ndarray, np.ndarray, int]:
    """(ys, xs, top) of an object's drawn pixels in image coordinates."""
    ys, xs = np.nonzero(_shape_mask(obj.shape, SIZES[obj.size]))
    # the bbox's top-left is the first drawn pixel; recover the drawing origin
    left, top = obj.bbox[0] - int(xs.min()), obj.bbox[1] - int(ys.min())
    return ys + top, xs + left, top


def object_map(scene: Scene) -> np.ndarray:
    """(height, width) int array: index of the object drawn at each pixel, -1 for background."""
    out = np.full((scene.height, scene.width), -1, dtype=np.int64)
    for i, obj in enumerate(scene.objects):
        ys, xs, _ = _object_pixels(obj)
        out[ys, xs] = i
    return out


def render(scene: Scene) -> Image.Image:
    """Render a scene to an RGB image (exact pixels: no anti-aliasing)."""
    arr = np.empty((scene.height, scene.width, 3), dtype=np.uint8)
    arr[:] = BACKGROUND
    for obj in scene.objects:
        ys, xs, top = _object_pixels(obj)
        rgb = np.array(COLORS[obj.color], dtype=np.float64)
        dark = (obj.pattern == "striped") & ((ys - top) % STRIPE_PERIOD == 1)
        arr[ys, xs] = np.where(dark[:, None], rgb * 0.45, rgb).astype(np.uint8)
    return Image.fromarray(arr, "RGB")
