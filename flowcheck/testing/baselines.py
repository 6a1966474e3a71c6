"""Baselines: a model's verdicts recorded once, compared on every later run.

One JSON file per (claim, task) under ``<folder>/<model>/``: the rounded verdict
(``claims.serialise.verdict_to_dict``) plus the claim id, its version and the task, and one
``samples.npz`` per model: the per-sample curves the verdicts were judged on (question ids,
one float64 row per sample and curve); each baseline records the digest of the samples file
written with it, so a later recording (``-k`` a few cases) never pairs a baseline with
another run's samples. A new verdict matches its baseline when
``equivalence.verdict_mismatches`` finds nothing (numbers within their float-noise ranges;
status only where noise could change it). When numbers moved beyond noise, the baseline is
judged as ``flowcheck compare`` judges two runs - paired, over the samples both answered
(``analysis.paired``): it fails only when a condition's statistic moved significantly and by
more than the smallest change worth a gate (or the verdict newly fails with a significant
move); a verdict that flipped while its statistic did not move is "borderline in both runs"
and passes with a note. A baseline without per-sample rows (recorded before they were
stored, or whose samples file was since rewritten by another recording) keeps the float-noise
rule and says why. A baseline
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
BORDERLINE = "borderline"  # moved beyond float noise, not by a change worth a gate (paired)
SAMPLES = "samples.npz"


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


def record(folder: Path, model: str, verdict, weights: str | None = None,
           samples: str | None = None) -> Path:
    """Write (or overwrite) the verdict's baseline, with the model and weights it measured
    (``samples``: the digest of the samples file written from the same run)."""
    path = path_for(folder, model, verdict.claim, verdict.task)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = {**baseline_data(verdict), "model": str(model), "weights": weights, "samples": samples}
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
    return stored, {k: stored.pop(k, None) for k in ("model", "weights", "samples")}


def samples_digest(path: Path) -> str:
    import hashlib
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16]


def record_samples(folder: Path, model: str, ids: list, evidence, weights: str | None) -> str:
    """Write the model's samples file: the per-sample curves of one run (``paired.run_samples``);
    returns its digest (what ``record`` stores with each baseline)."""
    import numpy as np
    path = model_folder(folder, model) / SAMPLES
    path.parent.mkdir(parents=True, exist_ok=True)
    arrays = {f"curve:{k}": v.astype(np.float64) for k, v in evidence.curves.items()}
    with path.open("wb") as f:
        np.savez_compressed(f, question_ids=np.array(ids, dtype=str),
                            tasks=np.array(evidence.tasks.tolist(), dtype=str),
                            n_layers=np.array(evidence.n_layers), weights=np.array(weights or ""), **arrays)
    return samples_digest(path)


def read_samples(folder: Path, model: str):
    """(question ids, Evidence, digest) of the model's samples file, or None without one."""
    import numpy as np

    from ..claims.judge import Evidence
    path = model_folder(folder, model) / SAMPLES
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as z:
            curves = {k.split(":", 1)[1]: z[k].astype(float) for k in z.files if k.startswith("curve:")}
            ev = Evidence(int(z["n_layers"]), z["tasks"].astype(object), curves)
            ids = z["question_ids"].tolist()
        return ids, ev, samples_digest(path)
    except (OSError, ValueError, KeyError) as e:
        raise UserFileError(f"the baseline samples file {str(path)!r} cannot be read ({e}); {FIX}") from e


@dataclass(frozen=True)
class Comparison:
    outcome: str  # match | borderline (moved less than a gate's change) | missing | changed | claim changed
    path: Path
    details: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return self.outcome in (MATCH, BORDERLINE)

    def message(self, model: str) -> str:
        if self.outcome == MISSING:
            return (f"no baseline for {model} at {self.path}; record one with --snapshot-update "
                    "(or --flowcheck-update-baselines)")
        if self.outcome == CLAIM_CHANGED:
            return f"{self.details[0]} (baseline {self.path})"
        if self.outcome == BORDERLINE:
            return f"{model}: {self.path.name}: " + "\n  ".join(self.details)
        return (f"the verdict moved from the baseline at {self.path} beyond float noise:\n  "
                + "\n  ".join(self.details))


def check(folder: Path, model: str, verdict, weights: str | None = None, spec=None, samples=None,
          tolerance: float | None = None) -> Comparison:
    """Compare a verdict with its baseline (module doc); ``weights``: the fingerprint this run
    measured, named in a moved verdict's message when the baseline was recorded on other
    weights; ``spec`` and ``samples`` (this run's ``paired.run_samples``): judge a move paired."""
    from ..claims.equivalence import claim_changed, verdict_mismatches
    path = path_for(folder, model, verdict.claim, verdict.task)
    if not path.exists():
        return Comparison(MISSING, path)
    new, (stored, owner) = baseline_data(verdict), read(path)
    changed = claim_changed(new, stored)
    if changed:
        return Comparison(CLAIM_CHANGED, path, (changed,))
    moved = verdict_mismatches(new, stored, noise_ranges(verdict))
    if not moved:
        return Comparison(MATCH, path)
    if weights and owner["weights"] and owner["weights"] != weights:
        moved.append(f"(the baseline was recorded on weights {owner['weights']} of {owner['model']!r}; "
                     f"this run measured weights {weights}: the model changed since)")
    if spec is None or samples is None:
        return Comparison(CHANGED, path, tuple(moved))
    digest = owner["samples"] if isinstance(owner["samples"], str) else None
    stored_samples = read_samples(folder, model) if digest else None
    if stored_samples is None or stored_samples[2] != digest:
        why = ("this baseline was recorded without per-sample numbers" if digest is None else
               "the model's samples file was rewritten by a later recording (digest "
               f"{stored_samples[2] if stored_samples else 'none'}, this baseline's {digest})")
        moved.append(f"({why}, so the move could not be tested paired; record it again to judge it as "
                     "`flowcheck compare` does)")
        return Comparison(CHANGED, path, tuple(moved))
    return _paired(path, spec, verdict, stored, stored_samples, samples, tolerance, moved)


def _paired(path, spec, verdict, stored: dict, stored_samples, samples, tolerance, moved) -> Comparison:
    """The gate's rule on a baseline whose numbers moved beyond float noise (module doc)."""
    from ..analysis.paired import aligned, classify, condition_differences
    ev_old, ev_new = aligned(stored_samples[0], stored_samples[1], *samples)
    diffs = condition_differences(spec, ev_old, ev_new, verdict.task)
    if not diffs:
        return Comparison(CHANGED, path, (*moved, "(not tested paired: no sample answered correctly in both "
                                                  "runs, or a curve the claim reads is missing in one)"))
    new_conditions = {c.name: c.status for c in verdict.conditions}
    flipped = [c for c, s in new_conditions.items() if (stored["conditions"].get(c) or {}).get("status") != s]
    lines = tuple(f"{d.condition} ({d.statistic}): {d.a:.4g} -> {d.b:.4g}, paired over {d.n} samples "
                  f"{d.diff:+.4g} [{d.ci[0]:+.4g}, {d.ci[1]:+.4g}]" for d in diffs.values())
    if stored["status"] != verdict.status:
        flip = {"a": stored["status"], "b": verdict.status, "conditions": flipped}
        if classify(flip, diffs, tolerance) == "changed":
            return Comparison(CHANGED, path,
                              (*moved, f"status {stored['status']} -> {verdict.status}", *lines))
        return Comparison(BORDERLINE, path, (f"status {stored['status']} -> {verdict.status}: borderline "
                                             "in both runs (the statistic did not move significantly, or "
                                             "by less than the smallest change worth a gate)", *lines))
    if any(d.matters(tolerance) or not d.finite for d in diffs.values()):
        return Comparison(CHANGED, path,
                          (*moved, f"status {verdict.status} in both, a statistic moved", *lines))
    return Comparison(BORDERLINE, path, ("numbers moved beyond float noise, none by a change worth a gate",
                                         *lines))
