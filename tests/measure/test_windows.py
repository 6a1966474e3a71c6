"""Layer windows: the paper's formula, clipping, defaults, errors."""
import pytest

from flowcheck.measure.windows import default_k, window, windows

pytestmark = pytest.mark.fast  # the quick tier: make test-fast


def test_paper_formula_k9_40_layers():
    assert list(window(20, 9, 40)) == list(range(16, 25))


@pytest.mark.parametrize("centre, expected", [(0, [0, 1, 2, 3]), (1, [0, 1, 2, 3, 4]),
                                              (31, [28, 29, 30, 31]), (30, [27, 28, 29, 30, 31])])
def test_windows_clipped_at_first_and_last_layers(centre, expected):
    assert list(window(centre, 7, 32)) == expected


def test_even_k_follows_the_same_formula():
    # range(max(0, c - k//2), min(L, c - (-k//2))): for k=4 at c=5 -> 3..6
    assert list(window(5, 4, 12)) == [3, 4, 5, 6]


def test_one_window_per_centre():
    ws = windows(12)
    assert len(ws) == 12 and all(len(w) <= default_k(12) for w in ws)


@pytest.mark.parametrize("layers, k", [(32, 7), (40, 9), (12, 3), (24, 5), (2, 1)])
def test_default_k(layers, k):
    assert default_k(layers) == k


def test_window_larger_than_model_is_a_clear_error():
    with pytest.raises(ValueError, match="k=13 is larger than the model's 12 layers"):
        windows(12, 13)


def test_centre_outside_model():
    with pytest.raises(ValueError, match="outside layers 0..11"):
        window(12, 3, 12)


def test_depth_fractions_pick_layers_by_l_over_l_minus_1():
    from flowcheck.claims.statistics import layer_indices
    assert list(layer_indices((0.0, 0.3), 11)) == [0, 1, 2, 3]
    assert list(layer_indices((1.0, 1.0), 12)) == [11]
    assert list(layer_indices((0.41, 0.44), 4)) == [1]  # empty range: the nearest layer
