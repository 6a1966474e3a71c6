"""Scene generator: determinism and exact bounding boxes."""
import numpy as np
import pytest

from flowcheck.data import dataset
from flowcheck.data.scenes import BACKGROUND, SHAPES, object_map, random_scene, render

pytestmark = pytest.mark.fast  # the quick tier: make test-fast


def test_same_seed_same_split():
    a, b = dataset.generate(3, 5), dataset.generate(3, 5)
    assert [s.row for s in a] == [s.row for s in b]
    assert all(np.array_equal(np.asarray(x.image), np.asarray(y.image)) for x, y in zip(a, b))


def test_other_seed_other_split():
    a, b = dataset.generate(3, 5), dataset.generate(4, 5)
    assert [s.question for s in a] != [s.question for s in b]


@pytest.mark.parametrize("seed", range(40))
def test_every_bbox_matches_rendered_pixels(seed):
    scene = random_scene(np.random.default_rng(seed))
    pixels = np.asarray(render(scene))
    not_bg = np.any(pixels != np.array(BACKGROUND, dtype=np.uint8), axis=-1)
    cell = scene.width // scene.grid
    covered = np.zeros_like(not_bg)
    for obj in scene.objects:
        r, c = obj.cell
        region = np.zeros_like(not_bg)
        region[r * cell:(r + 1) * cell, c * cell:(c + 1) * cell] = True
        ys, xs = np.nonzero(not_bg & region)
        x, y, w, h = obj.bbox
        assert (xs.min(), ys.min(), xs.max() + 1 - xs.min(), ys.max() + 1 - ys.min()) == (x, y, w, h)
        covered |= region
    assert not (not_bg & ~covered).any(), "pixels drawn outside every object's cell"


def test_object_map_agrees_with_pixels():
    scene = random_scene(np.random.default_rng(0))
    pixels = np.asarray(render(scene))
    not_bg = np.any(pixels != np.array(BACKGROUND, dtype=np.uint8), axis=-1)
    assert np.array_equal(object_map(scene) >= 0, not_bg)


def test_shapes_unique_per_scene():
    for seed in range(50):
        shapes = [o.shape for o in random_scene(np.random.default_rng(seed)).objects]
        assert len(shapes) == len(set(shapes)) and set(shapes) <= set(SHAPES)
