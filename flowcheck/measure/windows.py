"""Layer windows: k consecutive layers centred at layer c (0-based, half-open).

The paper's rule (official code): ``range(max(0, c - k//2), min(L, c - (-k//2)))`` for
centres c = 0..L-1, so windows at the first and last layers are clipped.
"""
from __future__ import annotations

from ..errors import UsageError

PAPER_K = {32: 7, 40: 9}  # the paper also shows k=9 for 32-layer models


def default_k(n_layers: int) -> int:
    """k for a model depth: the paper's value for 32/40 layers, else about L/4.5, odd."""
    if n_layers in PAPER_K:
        return PAPER_K[n_layers]
    k = max(1, round(n_layers / 4.5))
    return k if k % 2 else k + 1


def check_k_value(k) -> int:
    """A window size before the model's depth is known: a positive integer."""
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise UsageError(f"window size (--window) must be a positive integer, got {k!r}; leave it "
                         "out for the paper's value for the model's depth")
    return k


def check_k(k: int, n_layers: int) -> int:
    check_k_value(k)
    if k > n_layers:
        raise UsageError(f"window size k={k} is larger than the model's {n_layers} layers; "
                         f"use k <= {n_layers} (default for this depth: {default_k(n_layers)})")
    return k


def window(centre: int, k: int, n_layers: int) -> range:
    """The layers knocked out for a window centred at ``centre``."""
    check_k(k, n_layers)
    if not 0 <= centre < n_layers:
        raise UsageError(f"window centre {centre} is outside layers 0..{n_layers - 1}")
    return range(max(0, centre - k // 2), min(n_layers, centre - (-k // 2)))


def windows(n_layers: int, k: int | None = None) -> list[range]:
    """One window per centre 0..L-1."""
    k = default_k(n_layers) if k is None else check_k(k, n_layers)
    return [window(c, k, n_layers) for c in range(n_layers)]
