"""Baselines: a model's verdicts recorded once, compared on every later run.

One JSON file per (claim, task) under ``<folder>/<model>/``: the rounded verdict
(``report.verdicts.verdict_to_dict``) plus the claim id, its version and the task. A new
verdict matches its baseline when ``snapshot.verdict_mismatches`` finds nothing (numbers
within their float-noise ranges; status only where noise could change it). A baseline
recorded under another claim version is reported as "claim changed", not as a change of
the model: the spec is not the one the baseline measured. Each baseline also records the
model and the weights fingerprint it was measured on, so a moved verdict says whether the
weights changed since. A baseline file that cannot be read is a UserFileError naming it,
never "the verdict moved". No pytest here: the plugin's
``test_baseline`` items and anything else call ``check`` and ``record``.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from ..claims.serialise import noise_ranges, verdict_to_dict
from ..errors import UserFileError
from ..paths import read_json, slug

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


def record(folder: Path, model: str, verdict, weights: str | None = None) -> Path:
    """Write (or overwrite) the verdict's baseline, with the model and weights it measured."""
    path = path_for(folder, model, verdict.claim, verdict.task)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = {**baseline_data(verdict), "model": str(model), "weights": weights}
    path.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
    return path


REQUIRED = ("claim", "version", "task", "status", "conditions")
FIX = ("record it again with --snapshot-update (or --flowcheck-update-baselines), or restore it "
       "from version control")


def read(path: Path) -> tuple[dict, dict]:
    """(the stored verdict, {"model", "weights"} it was recorded on) of a baseline file,
    checked: a JSON object with the claim, version, task, status and conditions."""
    stored = read_json(path, "the baseline", FIX, REQUIRED)
    if not isinstance(stored["conditions"], dict):
        raise UserFileError(f"the baseline {str(path)!r}: 'conditions' must be an object, got "
                            f"{stored['conditions']!r}; {FIX}")
    return stored, {k: stored.pop(k, None) for k in ("model", "weights")}


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


def check(folder: Path, model: str, verdict, weights: str | None = None) -> Comparison:
    """Compare a verdict with its baseline (the snapshot rule, ``snapshot.verdict_mismatches``);
    ``weights``: the fingerprint this run measured, named in a moved verdict's message when
    the baseline was recorded on other weights."""
    from ..claims.equivalence import claim_changed, verdict_mismatches
    path = path_for(folder, model, verdict.claim, verdict.task)
    if not path.exists():
        return Comparison(MISSING, path)
    new, (stored, owner) = baseline_data(verdict), read(path)
    changed = claim_changed(new, stored)
    if changed:
        return Comparison(CLAIM_CHANGED, path, (changed,))
    moved = verdict_mismatches(new, stored, noise_ranges(verdict))
    if moved and weights and owner["weights"] and owner["weights"] != weights:
        moved.append(f"(the baseline was recorded on weights {owner['weights']} of {owner['model']!r}; "
                     f"this run measured weights {weights}: the model changed since)")
    return Comparison(CHANGED, path, tuple(moved)) if moved else Comparison(MATCH, path)
