"""Baselines: a model's verdicts recorded once, compared on every later run.

One JSON file per (claim, task) under ``<folder>/<model>/``: the rounded verdict
(``report.verdicts.verdict_to_dict``) plus the claim id, its version and the task. A new
verdict matches its baseline when ``snapshot.verdict_mismatches`` finds nothing (numbers
within their float-noise ranges; status only where noise could change it). A baseline
recorded under another claim version is reported as "claim changed", not as a change of
the model: the spec is not the one the baseline measured. No pytest here: the plugin's
``test_baseline`` items and anything else call ``check`` and ``record``.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from ..claims.serialise import noise_ranges, verdict_to_dict
from ..paths import slug

MATCH, MISSING, CHANGED, CLAIM_CHANGED = "match", "missing", "changed", "claim changed"


def model_folder(folder: Path, model: str) -> Path:
    """``<folder>/<model folder's name>``: where a model's baselines live."""
    return Path(folder) / slug(Path(str(model).rstrip("/")).name)


def path_for(folder: Path, model: str, claim: str, task: str) -> Path:
    """``<folder>/<model folder's name>/<claim>-<task>.json``."""
    return model_folder(folder, model) / f"{slug(claim)}-{slug(task)}.json"


def baseline_data(verdict) -> dict:
    """What a baseline stores: the rounded verdict with the claim id, version and task."""
    return {"claim": verdict.claim, "version": verdict.version, "task": verdict.task,
            **verdict_to_dict(verdict)}


def record(folder: Path, model: str, verdict) -> Path:
    """Write (or overwrite) the verdict's baseline."""
    path = path_for(folder, model, verdict.claim, verdict.task)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(baseline_data(verdict), indent=1, sort_keys=True) + "\n")
    return path


@dataclass(frozen=True)
class Comparison:
    outcome: str  # match | missing | changed | claim changed
    path: Path
    details: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return self.outcome == MATCH

    def message(self, model: str) -> str:
        if self.outcome == MISSING:
            return (f"no baseline for {model} at {self.path}; record one with --snapshot-update "
                    "(or --flowcheck-update-baselines)")
        if self.outcome == CLAIM_CHANGED:
            return f"{self.details[0]} (baseline {self.path})"
        return (f"the verdict moved from the baseline at {self.path} beyond float noise:\n  "
                + "\n  ".join(self.details))


def check(folder: Path, model: str, verdict) -> Comparison:
    """Compare a verdict with its baseline (the snapshot rule, ``snapshot.verdict_mismatches``)."""
    from ..claims.equivalence import claim_changed, verdict_mismatches
    path = path_for(folder, model, verdict.claim, verdict.task)
    if not path.is_file():
        return Comparison(MISSING, path)
    new, stored = baseline_data(verdict), json.loads(path.read_text())
    changed = claim_changed(new, stored)
    if changed:
        return Comparison(CLAIM_CHANGED, path, (changed,))
    moved = verdict_mismatches(new, stored, noise_ranges(verdict))
    return Comparison(CHANGED, path, tuple(moved)) if moved else Comparison(MATCH, path)
