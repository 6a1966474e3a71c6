"""A run folder read back, with no model: its settings, claim specs, evidence and counts,
and the one way to re-judge it - with the bootstrap seed and noise bound the run recorded -
used by report, expect, sensitivity, power and compare."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..claims.judge import BOOTSTRAP_SEED, N_BOOTSTRAP, judge_all
from ..claims.spec import claim_dirs, load_claims
from ..errors import RunFolderError
from .execute import RunPlan
from .folder import RunFolder, evidence_from_rows


@dataclass
class StoredRun:
    """A run folder read back: its meta, claim specs, evidence and sample counts (no model)."""

    run_dir: Path
    meta: dict
    specs: list
    evidence: object  # claims.judge.Evidence
    counts: dict
    rows: dict  # question_id -> the stored row the evidence was built from
    unreadable: tuple = ()  # result lines that were not a sample ("results.jsonl line 3")

    @property
    def missing(self) -> list[str]:
        """The run's samples (run.json ``question_ids``) with no stored row for its plan: an
        interrupted run, a lost or torn line, shards of another run in the same folder."""
        return [q for q in self.meta["question_ids"] if q not in self.rows]

    @property
    def incomplete(self) -> str:
        """'' for a complete run, else what is missing (verdicts on part of a run pass no gate)."""
        missing, total = self.missing, len(self.meta["question_ids"])
        if not missing:
            return ""
        bad = (f"; unreadable lines (torn by a kill or damaged): {', '.join(self.unreadable[:3])}"
               f"{' ...' if len(self.unreadable) > 3 else ''}" if self.unreadable else "")
        return (f"incomplete: {total - len(missing)} of {total} samples of this run are stored "
                f"({len(missing)} missing, e.g. {', '.join(map(str, missing[:3]))}{bad}); the "
                "verdicts judge only the stored ones and pass no gate. Re-run the same `flowcheck "
                "run` command to measure the rest (it resumes)")

    @property
    def noise(self):
        """The float-noise bound the verdicts' noise ranges use: the run's own (run.json
        "noise", from ``--noise``) or the bound measured for float32 (``noise.NOISE_PP``)."""
        from ..claims.noise import NOISE_LENS, NOISE_PP
        from ..claims.statistics import Noise
        given = self.meta.get("noise") or {}
        return Noise(float(given.get("pp", NOISE_PP)), float(given.get("lens", NOISE_LENS)))

    @property
    def judging(self) -> dict:
        """How the run's verdicts are judged: its recorded bootstrap seed and resamples (runs
        from before they were recorded: the defaults) and its noise bound."""
        boot = self.meta.get("bootstrap") or {}
        return {"noise": self.noise, "seed": int(boot.get("seed", BOOTSTRAP_SEED)),
                "n_bootstrap": int(boot.get("resamples", N_BOOTSTRAP)),
                "not_applicable": dict(self.meta.get("not_applicable") or {})}

    def judge(self, evidence=None, specs=None, tasks=None, **kw) -> list:
        """Verdicts of the run's claims (or ``specs``) on its evidence (or on ``evidence`` in
        its place), per task (``tasks``, default the run's) and pooled, judged as the run
        was (``judging``) unless ``kw`` says otherwise."""
        return judge_all(self.specs if specs is None else specs,
                         self.evidence if evidence is None else evidence, self.meta["family"],
                         tasks=sorted(self.counts) if tasks is None else tasks,
                         **{**self.judging, **kw})


def _claims_dir(stored: str | None) -> Path | None:
    """The run's claims folder: absolute, or inside this checkout (``portable_path``); a
    relative path from runs written before that is tried from here too."""
    from ..paths import resolve_portable
    if not stored:
        return None
    found = resolve_portable(stored)
    return found if found.is_dir() or not Path(stored).is_dir() else Path(stored)


def run_specs(meta: dict) -> list:
    """The claims a run judged (its run.json's claims, from its claims folder)."""
    return load_claims(claim_dirs(_claims_dir(meta.get("claims_dir"))), meta["claims"])


def lens_variant(specs) -> str | None:
    """The lens variant the claims read (the judge's evidence is built with it)."""
    return next(iter({s.lens_variant for s in specs if s.lens_variant}), None)


def load_run(run_dir: Path) -> StoredRun:
    """Read run.json + results.jsonl of a run folder."""
    folder = RunFolder(run_dir)
    meta = folder.meta()
    specs = run_specs(meta)
    variant = lens_variant(specs)
    plan = RunPlan.from_meta(meta)
    stored_rows = folder.rows()  # read once: evidence and the check below both use it
    rows = folder.latest_rows(plan, meta=meta, stored=stored_rows)
    ev, counts = evidence_from_rows(rows, plan, meta["n_layers"], variant)
    if not counts and stored_rows:  # never overwrite a good report with "nothing measured"
        kinds = sorted({(r.get("k"), r.get("engine"), r.get("attn", "default")) for r in stored_rows})
        raise RunFolderError(
            f"{folder.path}: run.json asks for k={meta.get('k')}, engine={meta.get('engine')!r}, "
            f"attn={meta.get('attn', 'default')!r}, but results.jsonl holds rows for (k, engine, "
            f"attn) {kinds}; the report was left as it was. Restore run.json or re-run with "
            "those settings")
    meta["lens_variant"] = variant
    return StoredRun(folder.path, meta, specs, ev, counts, rows, tuple(folder.unreadable))
