"""The flowcheck side of one pytest session (the plugin's hooks only delegate here).

``FlowcheckSession`` holds the checked ``RunSettings``, the claims and tasks of the session,
which (claim, task) cases survived selection, the expectations and baselines files, and the
one run: ``result()`` measures exactly what the selected cases need, once. ``check(case)``
is the one assertion of a claim test, built-in item or written ``flowcheck_verdict`` test,
with the session's uncertain policy. Testable without pytest.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..claims.names import POOLED


def measurement_for(cases, all_tasks) -> tuple[list | None, list]:
    """(claims, tasks) a run must measure for the selected (claim, task) cases: the cases'
    claims (None: every claim, when nothing is selected) and their tasks - every task when
    a pooled verdict is selected, as pooling needs them all."""
    cases = set(cases or ())
    claims = sorted({c for c, _ in cases}) or None
    tasks = sorted({t for _, t in cases if t != POOLED})
    if not tasks or any(t == POOLED for _, t in cases):
        tasks = list(all_tasks)
    return claims, tasks


@dataclass
class FlowcheckSession:
    settings: object  # runs.settings.RunSettings, checked once at configure
    root: Path  # the pytest rootdir: expectations and baselines folders are relative to it
    expectations_dir: str = "flowcheck-expectations"
    baselines_dir: str = "flowcheck-baselines"
    collect_builtin: bool = False  # add the built-in claims as items when no test asks for them
    updating: bool = False  # record baselines (--flowcheck-update-baselines / --snapshot-update)
    selected: set = field(default_factory=set)
    _specs: list | None = None
    _expectations: dict | None = None
    _result: object = None
    _run_samples: tuple | None = None
    _samples_digest: str | None = None  # of the samples file this session recorded

    # --- what the session tests ------------------------------------------------------------
    @property
    def specs(self) -> list:
        """The claims of the session: the library, then the settings' claims_dir (read once)."""
        if self._specs is None:
            from ..claims.spec import claim_dirs, load_claims
            self._specs = load_claims(claim_dirs(self.settings.claims_dir))
        return self._specs

    @property
    def tasks(self) -> list[str]:
        from ..data.tasks import TASKS
        return list(self.settings.tasks or TASKS)

    def cases(self) -> list[tuple[str, str]]:
        """Every (claim, task) of the session's claims: tasks + pooled."""
        return [(s.id, t) for s in self.specs for t in [*self.tasks, POOLED]]

    def expectation(self, claim: str, task: str) -> dict | None:
        """The model's expectations-file entry for a case of the current claim version."""
        from .expectations import check_owner, expected, load
        if self._expectations is None:
            path = self.expectations_path
            from ..data.tasks import TASKS
            self._expectations = load(path, [s.id for s in self.specs], [*TASKS, POOLED])
            check_owner(self._expectations, path, self.settings.model)
        version = next((s.version for s in self.specs if s.id == claim), 0)
        return expected(self._expectations, claim, version, task)

    @property
    def expectations_path(self) -> Path:
        from .expectations import path_for
        return path_for(self.root / self.expectations_dir, self.settings.model)

    @property
    def baselines_folder(self) -> Path:
        return self.root / self.baselines_dir

    def has_baselines(self) -> bool:
        """Baseline items are collected when recording, or when the model has baselines."""
        from .baselines import model_folder
        return self.updating or model_folder(self.baselines_folder, self.settings.model).is_dir()

    # --- the one run -------------------------------------------------------------------------
    def result(self):
        """The session's ``SuiteResult``: the selected cases measured, once."""
        if self._result is None:
            from ..suite import run_suite
            claims, tasks = measurement_for(self.selected, self.tasks)
            self._result = run_suite(self.settings.with_(claims=claims, tasks=tasks), progress=True)
            if self._expectations:  # the file must be this model's, weights included
                from .expectations import check_owner
                check_owner(self._expectations, self.expectations_path, self.settings.model,
                            self._result.meta.get("weights"))
        return self._result

    # --- the assertions ----------------------------------------------------------------------
    def check(self, verdict) -> None:
        """The claim test's assertion: ``assert_claim`` with the session's uncertain policy
        and the claim's spec (no YAML re-read)."""
        from . import assert_claim
        __tracebackhide__ = True
        spec = next((s for s in self.specs if s.id == verdict.claim), None)
        assert_claim(verdict, self._result, uncertain=self.settings.uncertain, spec=spec)

    def check_baseline(self, verdict) -> tuple[str, str]:
        """Compare with (or record) the model's baseline: (the failure message or '', a note for
        a borderline case or ''). Recording also writes the run's per-sample curves (once), so
        that a later move is judged paired, as ``flowcheck compare`` judges it."""
        from . import baselines
        weights = self._result.meta.get("weights") if self._result is not None else None
        samples = self._samples()
        if self.updating:
            if samples is not None and self._samples_digest is None:
                self._samples_digest = baselines.record_samples(self.baselines_folder, self.settings.model,
                                                                *samples, weights)
            baselines.record(self.baselines_folder, self.settings.model, verdict, weights,
                             samples=self._samples_digest)
            return "", ""
        spec = next((s for s in self.specs if s.id == verdict.claim), None)
        found = baselines.check(self.baselines_folder, self.settings.model, verdict, weights, spec, samples)
        if not found.ok:
            return found.message(self.settings.model), ""
        return "", found.message(self.settings.model) if found.outcome == baselines.BORDERLINE else ""

    def _samples(self):
        """(question ids, Evidence) of the session's run (``paired.run_samples``), read once."""
        if self._run_samples is None and self._result is not None and self._result.run_dir:
            from ..analysis.paired import run_samples
            self._run_samples = run_samples(self._result.run_dir)
        return self._run_samples


def gpus_missing(need: int) -> str:
    """Why a test needing ``need`` CUDA GPUs cannot run here ('' when it can)."""
    import torch
    have = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if have >= need:
        return ""
    return (f"needs {need} CUDA GPU{'s' if need > 1 else ''}, {have} visible (torch {torch.__version__}, "
            f"CUDA build: {torch.version.cuda or 'none'})")


_ACTIVE: list = []  # the session of the running pytest process (set by the plugin)


def active_policy() -> str | None:
    """The uncertain policy of the running flowcheck pytest session, or None outside one."""
    return _ACTIVE[-1].settings.uncertain if _ACTIVE else None
