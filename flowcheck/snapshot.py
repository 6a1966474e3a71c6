"""syrupy extension for verdict snapshots: JSON, one folder per model, numbers compared
with a tolerance (statuses and every other string exactly).

Use: ``snapshot.use_extension(verdict_snapshot(model_name))``. A new checkpoint that moves
a curve changes the observed values and margins; within tolerance it still matches,
beyond it the diff shows which numbers moved.
"""
from __future__ import annotations

import json
import math
import re

from syrupy.extensions.json import JSONSnapshotExtension

ATOL, RTOL = 1e-3, 1e-2


def close(a, b, atol: float = ATOL, rtol: float = RTOL) -> bool:
    """Structural equality with numbers within ``atol + rtol * |b|``."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return math.isclose(a, b, abs_tol=atol, rel_tol=rtol)
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(close(a[k], b[k], atol, rtol) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(close(x, y, atol, rtol) for x, y in zip(a, b))
    return a == b


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("_") or "model"


def verdict_snapshot(model_name: str):
    """An extension class that stores snapshots under ``__snapshots__/<model>/``."""

    class VerdictSnapshot(JSONSnapshotExtension):
        @classmethod
        def dirname(cls, *, test_location):
            return str(super().dirname(test_location=test_location)) + f"/{_slug(model_name)}"

        def matches(self, *, serialized_data, snapshot_data) -> bool:
            try:
                return close(json.loads(serialized_data), json.loads(snapshot_data))
            except (TypeError, ValueError):
                return serialized_data == snapshot_data

    return VerdictSnapshot
