"""syrupy extension for verdict snapshots: JSON, one folder per model, compared with the
equivalence rule (``claims.equivalence``), so that float noise can never fail a test and a
real change always can.

Use: ``snapshot(extension_class=verdict_snapshot(model_name, noise_ranges(verdict)))``.
"""
from __future__ import annotations

import json

from ..claims.equivalence import verdict_mismatches
from ..paths import slug


def why(assertion, noise: dict | None = None) -> str:
    """What made a syrupy assertion with ``verdict_snapshot`` fail ("claim changed: ...", or
    the numbers that moved beyond noise): its last comparison, for the assert message
    (``assert data == snap, why(snap, noise)`` with the extension's noise ranges; syrupy's
    own diff shows every line)."""
    result = assertion.executions.get(assertion.num_executions - 1)
    if result is None or result.recalled_data is None:
        return "no snapshot recorded for this model yet: record it with --snapshot-update"
    try:
        new, stored = json.loads(result.asserted_data), json.loads(result.recalled_data)
    except (TypeError, ValueError):
        return "the snapshot is not a verdict"
    return "; ".join(verdict_mismatches(new, stored, noise)) or "matches"


def verdict_snapshot(model_name: str, noise: dict | None = None):
    """An extension class that stores snapshots under ``__snapshots__/<model>/`` and compares
    a verdict with ``verdict_mismatches`` given the new verdict's noise ranges (syrupy is
    imported here: the comparison rule above is also the baselines', which need no syrupy)."""
    from syrupy.extensions.json import JSONSnapshotExtension

    class VerdictSnapshot(JSONSnapshotExtension):
        @classmethod
        def dirname(cls, *, test_location):
            return str(super().dirname(test_location=test_location)) + f"/{slug(model_name)}"

        def matches(self, *, serialized_data, snapshot_data) -> bool:
            return not self._mismatches(serialized_data, snapshot_data)

        @staticmethod
        def _mismatches(serialized_data, snapshot_data) -> list[str] | None:
            try:
                new, stored = json.loads(serialized_data), json.loads(snapshot_data)
            except (TypeError, ValueError):
                return None if serialized_data == snapshot_data else ["not JSON"]
            return verdict_mismatches(new, stored, noise)

    return VerdictSnapshot
