"""Related-patch mapping against hand-computed patch indices, and region self-checks.
(tests/models/test_related_mask.py checks the rule against masks sent through real processors.)"""
import pytest

from flowcheck.models.image_layout import single_grid
from flowcheck.models.regions import Regions, check_regions

pytestmark = pytest.mark.fast  # the quick tier: make test-fast


def related_patches(boxes, w, h, kind="crop", size=64, crop=(64, 64), patch=8):
    """8 x 8 grid; identity for 64 x 64 images with the default 'crop'."""
    return single_grid(kind, size, crop, patch, w, h).related(boxes)


SQUARE = "crop"


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
    pad = "pad"
    # 128 x 64 padded to 128 x 128 (32 px top and bottom), then scaled by 0.5
    assert related_patches([(0, 0, 16, 16)], 128, 64, pad) == [16]
    # x 120..128, y 48..64 -> padded y 80..96 -> scaled x 60..64, y 40..48 -> row 5, col 7
    assert related_patches([(120, 48, 8, 16)], 128, 64, pad) == [47]
    # y 48..65 -> 40..48.5: the sliver of row 6 holds no pixel centre, so it is not related
    assert related_patches([(120, 48, 8, 17)], 128, 64, pad) == [47]
    assert related_patches([(120, 48, 8, 18)], 128, 64, pad) == [47, 55]  # y 40..49


def test_llava15_grid_corner():
    kw = dict(size=336, crop=(336, 336), patch=14)
    assert related_patches([(0, 0, 14, 14)], 336, 336, **kw) == [0]
    assert related_patches([(322, 322, 14, 14)], 336, 336, **kw) == [575]


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
