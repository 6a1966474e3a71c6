"""The claims suite end to end: settings -> model -> samples -> plan -> measured rows ->
verdicts -> report. ``run_suite`` measures (expensive, resumable); ``judge_run`` re-judges
and re-renders a run folder from its stored rows with no model."""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from .claims.judge import POOLED
from .claims.spec import check_applicable, check_family, claim_dirs, load_claims, unmeasurable
from .data.dataset import select_samples
from .runs.execute import RunPlan, execute, store_key
from .runs.folder import RunFolder
from .runs.record import finish_record, run_record
from .runs.settings import RunSettings
from .runs.stored import load_run


@dataclass
class SuiteResult:
    run_dir: Path
    verdicts: list
    counts: dict
    meta: dict
    pending: str = ""  # a shard's result while other shards still measure: what is left
    incomplete: str = ""  # a run folder judged with samples missing: what is missing

    def pooled(self) -> list:
        """The verdicts pooled over task types (one per claim)."""
        return [v for v in self.verdicts if v.task == POOLED]

    def verdict(self, claim: str, task: str):
        """The verdict of ``claim`` on ``task`` (POOLED: over every task)."""
        for v in self.verdicts:
            if v.claim == claim and v.task == task:
                return v
        raise LookupError(f"no verdict for {claim!r} on {task!r}; the run measured tasks "
                          f"{sorted(self.counts)} for claims {sorted({v.claim for v in self.verdicts})}")

    @property
    def all_hold(self) -> bool:
        """Every claim holds (never while a split run is still being measured, never on an
        incomplete run, never with nothing judged)."""
        return self.gate("fail") and all(v.passed for v in self.verdicts)

    def gate(self, uncertain: str = "fail") -> bool:
        """Every verdict passes the CI gate (``Verdict.gate``: uncertain fails unless 'allow');
        a shard's result while others still measure, an incomplete run and a run in which no
        claim was judged pass nothing."""
        if self.pending or self.incomplete or not self.verdicts:
            return False
        return all(v.gate(uncertain) for v in self.verdicts)


def run_suite(settings: RunSettings | None = None, progress: bool = True) -> SuiteResult:
    """Measure what the selected claims need (resuming ``settings.out``), then judge and
    render. Every field of ``RunSettings`` is documented there; a split run (``shard``, or
    the launcher's RANK/WORLD_SIZE) measures this process's share, and the shard that finds
    every sample stored judges and writes the report (the others return ``pending``)."""
    import torch

    from .claims.noise import run_noise
    from .measure.selfcheck import run_self_checks
    from .models.handle import load_handle
    from .models.loading import check_device
    from .models.source import read_source
    from .runs.execute import DEFAULT_ATTN
    from .runs.shards import local_device, resolve_shard
    s = settings or RunSettings()
    shard = resolve_shard(s.shard)
    s = s.with_(device=local_device(s.device))
    specs = load_claims(claim_dirs(s.claims_dir), s.claims)
    RunPlan.for_claims(specs, s.window, s.engine)  # one window for the claims, before anything loads
    noise = run_noise(s.noise, s.dtype)
    check_device(s.device)
    samples = select_samples(s.dataset, s.tasks, s.max_samples)
    source = read_source(s.model, s.base)  # everything the user gave is checked before the model loads
    family = check_family(s.family or source.family, specs)
    unmeasured = unmeasurable(specs, source.adapter_class, source.architecture)
    check_applicable(specs, family, unmeasured)
    s, engine_note = _engine_for(s, source)
    s = s.with_(attn=s.attn or DEFAULT_ATTN[s.engine])
    plan = RunPlan.for_claims([c for c in specs if c.id not in unmeasured], s.window, s.engine)
    if s.threads:
        torch.set_num_threads(s.threads)
    t0 = time.perf_counter()
    handle = load_handle(source, device=s.device, dtype=s.dtype, attn_implementation=s.attn,
                         prompt=s.prompt, preprocess=s.preprocess, allow_pickle=s.allow_pickle,
                         device_map=s.device_map)
    window = _check_window(plan, handle, specs, s.window)  # before the folder is written
    checks = run_self_checks(handle, samples[0])  # raises SelfCheckError: knockouts untrustworthy
    meta = run_record(s, handle, samples, plan, window, specs, checks, shard.count, noise, family)
    meta.update(not_applicable=unmeasured, engine_note=engine_note,
                family_note=handle.adapter.family_note or None)
    folder = RunFolder(s.out)
    if shard.count > 1:
        return _run_shard(handle, samples, plan, folder, meta, shard, progress, t0, s.batch_size)
    with folder.locked():  # one writer at a time; released when the run is written
        folder.create(meta)
        counts = execute(handle, samples, plan, folder, progress=progress, batch_size=s.batch_size)
        return _finish(folder, meta, folder.latest_rows(), counts, t0)


def _engine_for(s: RunSettings, source) -> tuple[RunSettings, str]:
    """The engine the model can be measured with, and why when it is not the one asked: the
    fast engine runs decoder layers itself, so only a family adapter that vouches for the
    positions, rotary and masks it needs may use it; elsewhere the exact engine measures."""
    if source.adapter_class.fast_engine or s.engine == "exact":
        return s, ""
    return s.with_(engine="exact"), (
        f"exact, not {s.engine}: the fast engine runs decoder layers itself and is used only where a "
        f"family adapter vouches for positions, rotary and masks; {source.architecture} is measured "
        "through the generic path")


def _check_window(plan, handle, specs, asked) -> int:
    """The run's window size, fitting the model's depth; too large names where it came from."""
    from .errors import UsageError
    from .measure.windows import check_k
    k = store_key(plan, handle.n_layers, handle=handle)["k"]
    try:
        return check_k(k, handle.n_layers)
    except UsageError as e:
        if asked is None and any(s.window for s in specs):
            source = ", ".join(f"{s.source or s.id} (window: {s.window})" for s in specs if s.window)
            raise UsageError(f"{e}; the window comes from the claim spec {source}") from None
        raise


def _finish(folder, meta, rows: dict, counts: dict, t0: float, **timing) -> SuiteResult:
    """Record timing and the rows' notes in run.json, then judge and render (folder held)."""
    folder.write_meta(finish_record(meta, rows.values(), counts, t0, **timing))
    return judge_run(folder.path)


def _run_shard(handle, samples, plan, folder, meta, shard, progress, t0, batch_size=None) -> SuiteResult:
    """One shard of a split run: write run.json (briefly holding the folder), measure this
    shard's samples under its own lock, and judge when every sample of the run is stored."""
    from .measure.configs import plan_configs
    from .runs.planning import sample_costs, sample_work
    from .runs.shards import deal
    wait = 600.0  # the folder lock is held briefly by each shard; a whole run holds it long
    with folder.locked(shard=shard, wait_s=5.0):  # first: a whole run now sees this shard
        with folder.locked(wait_s=wait, for_shard=True):
            folder.create(meta)
        configs = plan_configs(plan.flows, handle.n_layers, meta["k"])
        costs = sample_costs(handle, samples, configs)  # the same on every shard
        weights = {q: seq * sample_work(fe, plan.engine, len(configs))
                   for q, (seq, _, fe) in costs.items()}
        mine = deal(weights, shard.count)
        share = [s for s in samples if mine[s.row["question_id"]] == shard.index]
        counts = execute(handle, share, plan, folder, progress=progress, shard=shard,
                         batch_size=batch_size)
    stored = folder.latest_rows()
    missing = [q for q in meta["question_ids"] if q not in stored]
    if missing:
        note = (f"shard {shard} measured {counts['measured']} samples ({counts['reused']} stored "
                f"before); {len(missing)} of the run's {len(meta['question_ids'])} samples are "
                "still being measured by other shards: the shard that finishes last writes the "
                f"report (or run `flowcheck report {folder.path}` when all are done)")
        return SuiteResult(folder.path, [], {}, meta, pending=note)
    with folder.locked(wait_s=wait, for_shard=True):
        return _finish(folder, meta, stored, counts, t0, by=f"the last shard ({shard})")


def judge_run(run_dir: Path, plots: bool = True) -> SuiteResult:
    """Re-judge a run folder from run.json + results.jsonl and write the report files."""
    from .claims.serialise import dumps, verdicts_to_dict
    from .report.claim_marks import panel_of
    from .report.html import render_html
    from .report.plots import panel_keys, plot_panels
    from .report.summary import render_summary

    run = load_run(run_dir)
    verdicts = run.judge()
    summary = render_summary(run.meta, verdicts, run.counts, rows=run.rows.values(), specs=run.specs,
                             incomplete=run.incomplete)
    family = run.meta.get("family")
    written = (plot_panels(run.evidence, run.run_dir, run.meta["model_name"], run.specs, family)
               if plots else [])
    links = {s.id: panel_of(s, panel_keys(run.evidence)) for s in run.specs}
    with RunFolder(run.run_dir).locked() as folder:
        folder.write_report(dumps(verdicts_to_dict(verdicts)), summary, render_html(summary, written, links))
    return SuiteResult(run.run_dir, verdicts, run.counts, run.meta, incomplete=run.incomplete)
