"""Related-patch mapping against hand-computed patch indices, and region self-checks."""
import numpy as np
import pytest
from PIL import Image, ImageDraw

from flowcheck.regions import ImageTransform, Regions, check_regions, related_patches

SQUARE = ImageTransform("crop", 64, (64, 64), 8)  # 8 x 8 grid, identity for 64 x 64 images


@pytest.mark.parametrize("box, expected", [
    ((0, 0, 8, 8), [0]),                       # top-left corner, exactly one patch
    ((56, 56, 8, 8), [63]),                    # bottom-right corner
    ((56, 0, 8, 8), [7]),                      # top-right corner
    ((0, 0, 9, 9), [0, 1, 8, 9]),              # one pixel over the border, both ways
    ((7, 7, 2, 2), [0, 1, 8, 9]),              # 2x2 box across a patch corner
    ((8, 8, 8, 8), [9]),                       # aligned to a patch
    ((8, 0, 1, 64), [1, 9, 17, 25, 33, 41, 49, 57]),  # a one-pixel column at an edge
    ((63, 63, 1, 1), [63]),                    # last pixel
])
def test_square_image(box, expected):
    assert related_patches([box], 64, 64, SQUARE) == expected


def test_union_of_boxes():
    assert related_patches([(0, 0, 8, 8), (56, 56, 8, 8)], 64, 64, SQUARE) == [0, 63]


def test_non_square_crop_keeps_the_centre():
    # 128 x 64: shortest edge already 64, centre crop removes 32 px left and right
    assert related_patches([(32, 0, 16, 16)], 128, 64, SQUARE) == [0, 1, 8, 9]
    assert related_patches([(0, 0, 16, 16)], 128, 64, SQUARE) == []  # cropped away
    assert related_patches([(95, 60, 2, 4)], 128, 64, SQUARE) == [63]


def test_non_square_crop_with_scaling():
    # 256 x 128 -> resized to 128 x 64 (scale 0.5), crop left 32: x 80..96 -> 8..16 -> column 1
    assert related_patches([(80, 0, 16, 16)], 256, 128, SQUARE) == [1]


def test_pad_to_square():
    pad = ImageTransform("pad", 64, (64, 64), 8)
    # 128 x 64 padded to 128 x 128 (32 px top and bottom), then scaled by 0.5
    assert related_patches([(0, 0, 16, 16)], 128, 64, pad) == [16]
    # x 120..128, y 48..64 -> padded y 80..96 -> scaled x 60..64, y 40..48 -> row 5, col 7
    assert related_patches([(120, 48, 8, 16)], 128, 64, pad) == [47]
    assert related_patches([(120, 48, 8, 17)], 128, 64, pad) == [47, 55]


def test_llava15_grid_corner():
    t = ImageTransform("crop", 336, (336, 336), 14)
    assert related_patches([(0, 0, 14, 14)], 336, 336, t) == [0]
    assert related_patches([(322, 322, 14, 14)], 336, 336, t) == [575]


@pytest.mark.parametrize("size", [(64, 64), (96, 64), (64, 100), (150, 90)])
def test_mapping_agrees_with_the_processor(size):
    """Draw a red box, push it through the real image processor (no normalisation):
    patches that turn clearly red are related, and related patches show some red."""
    from flowcheck.models.tiny import ReferenceSpec, build_processor
    ip = build_processor(ReferenceSpec()).image_processor
    w, h = size
    rng = np.random.default_rng(w * h)
    for _ in range(10):
        bw, bh = int(rng.integers(1, w // 3)), int(rng.integers(1, h // 3))
        box = (int(rng.integers(0, w - bw)), int(rng.integers(0, h - bh)), bw, bh)
        img = Image.new("RGB", (w, h), (0, 255, 0))
        ImageDraw.Draw(img).rectangle([box[0], box[1], box[0] + bw - 1, box[1] + bh - 1], fill=(255, 0, 0))
        px = np.asarray(ip(img, do_normalize=False, do_rescale=False)["pixel_values"][0])  # (3, 64, 64)
        red = px[0] - px[1]  # > 0 where red dominates
        patches = red.reshape(8, 8, 8, 8).transpose(0, 2, 1, 3).reshape(64, 64)
        clearly = set(np.nonzero(patches.max(1) > 200)[0])
        some = set(np.nonzero(patches.max(1) > 0)[0])
        related = set(related_patches([box], w, h, SQUARE))
        assert clearly <= related <= some, (box, sorted(clearly), sorted(related), sorted(some))


def regions(**kw):
    base = dict(seq_len=10, image=(1, 2, 3, 4), question=(6, 7), last=(9,), related=(1,), other=(2, 3, 4))
    base.update(kw)
    return Regions(**base)


def test_check_regions_accepts_good_groups():
    check_regions(regions(), decoded_question="Is it ?", question="Is it?", n_image_features=4)


@pytest.mark.parametrize("kw, message", [
    (dict(question=(4, 6)), "'image' and 'question' overlap"),
    (dict(last=(10,)), "outside the sequence"),
    (dict(related=(1, 2), other=(2, 3, 4)), "'related' and 'other' overlap"),
])
def test_check_regions_rejects(kw, message):
    with pytest.raises(ValueError, match=message):
        check_regions(regions(**kw), decoded_question="Is it?", question="Is it?", n_image_features=4)


def test_image_feature_count_mismatch_is_a_clear_error():
    with pytest.raises(ValueError, match="4 image tokens but the model inserts 5 image features"):
        check_regions(regions(), decoded_question="Is it?", question="Is it?", n_image_features=5)


def test_question_must_decode_back():
    with pytest.raises(ValueError, match="decode to 'Is that'"):
        check_regions(regions(), decoded_question="Is that", question="Is it?", n_image_features=4)
