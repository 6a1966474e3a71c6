"""The claims suite end to end: model + dataset + claims -> plan -> results -> verdicts ->
report. ``run_suite`` measures (expensive, resumable); ``judge_run`` re-judges and
re-renders a run folder from its stored results with no model (pure)."""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from ._version import __version__
from .claims.judge import BOOTSTRAP_SEED, N_BOOTSTRAP, POOLED, judge_all
from .claims.spec import claim_dirs, load_claims
from .data.dataset import select_samples
from .errors import RunFolderError
from .runs.execute import RunPlan, execute, store_key
from .runs.folder import RunFolder, evidence_from_rows


@dataclass
class SuiteResult:
    run_dir: Path
    verdicts: list
    counts: dict
    meta: dict
    pending: str = ""  # a shard's result while other shards still measure: what is left

    def pooled(self) -> list:
        """The verdicts pooled over task types (one per claim)."""
        return [v for v in self.verdicts if v.task == POOLED]

    @property
    def all_hold(self) -> bool:
        """Every claim holds (never while a split run is still being measured)."""
        return not self.pending and all(v.passed for v in self.verdicts)

    def gate(self, uncertain: str = "fail") -> bool:
        """Every verdict passes the CI gate (``Verdict.gate``: uncertain fails unless 'allow');
        a shard's result while others still measure has no verdicts and passes nothing."""
        return not self.pending and all(v.gate(uncertain) for v in self.verdicts)


def run_suite(model="reference", dataset=None, tasks=None, claims=None, claims_dir=None,
              max_samples: int | None = None, engine: str = "fast", k: int | None = None,
              out: Path = Path("reports/latest"), device: str = "cpu", dtype: str = "float32",
              family: str | None = None, progress: bool = True, attn: str | None = None,
              threads: int | None = None, noise=None, prompt: str | None = None,
              preprocess: str = "paper", allow_pickle: bool = False, shard=None,
              batch_size: int | None = None, device_map: str | None = None) -> SuiteResult:
    """Measure what the selected claims need (resuming ``out``), then judge and render.

    ``batch_size``: knockout configs per forward (exact engine default 1, fast engine default
    a whole group; results equal within float rounding). ``device_map``: 'auto' spreads a
    model larger than one GPU over the visible GPUs (accelerate). ``shard``: "i/n", a
    ``sharding.Shard``, or None (the launcher's RANK/WORLD_SIZE, else the whole run): this
    process measures its share of the samples into its own
    store; the shard that finds every sample stored judges and writes the report, the others
    return a result with ``pending`` set.

    ``attn``: the attention implementation to load (default: sdpa for the fast engine,
    eager for the exact one); ``threads``: torch CPU threads (default: torch's own);
    ``noise``: the float-noise bound of the stored numbers, "PP[,LENS]" or (pp, lens)
    (default: the bound measured for float32, ``flowcheck.analysis.noise``); ``prompt``: a template
    name (default: the checkpoint's), ``preprocess``: 'paper' or 'checkpoint' (the adapter's);
    ``allow_pickle``: read pickle weights (they can run code; default: safetensors only)."""
    from .claims.noise import parse_noise
    from .data.boxes import BOX_PAINTINGS
    from .data.dataset import dataset_fingerprint
    from .measure.selfcheck import run_self_checks
    from .measure.windows import check_k, check_k_value
    from .models.handle import load_handle
    from .models.loading import check_device, model_family, random_weights, resolve_model_path
    from .paths import EVAL_SPLIT, portable_path
    from .runs.environment import environment
    from .runs.execute import DEFAULT_ATTN
    from .runs.shards import local_device, resolve_shard
    if k is not None:
        check_k_value(k)
    shard = resolve_shard(shard)
    device = local_device(device)
    specs = load_claims(claim_dirs(claims_dir), claims)
    plan = RunPlan.for_claims(specs, k, engine)
    bound = parse_noise(noise)  # everything a user gave is checked before the model loads
    if noise is None and dtype != "float32":  # half precision: its own measured bound
        from .claims.noise import DTYPE_NOISE_PP
        noise = (DTYPE_NOISE_PP[dtype], bound.lens)
        bound = parse_noise(noise)
    check_device(device)
    samples = select_samples(dataset, tasks, max_samples)
    family = family or model_family(model)
    attn = attn or DEFAULT_ATTN[engine]
    import torch
    if threads:
        torch.set_num_threads(threads)
    t0 = time.perf_counter()
    handle = load_handle(model, device=device, dtype=dtype, attn_implementation=attn, prompt=prompt,
                         preprocess=preprocess, allow_pickle=allow_pickle, device_map=device_map)
    window = check_k(store_key(plan, handle.n_layers, handle=handle)["k"], handle.n_layers)  # before folder
    checks = run_self_checks(handle, samples[0])  # raises SelfCheckError: knockouts untrustworthy
    from .models.fingerprint import weights_fingerprint
    meta = {"model": portable_path(resolve_model_path(model)), "model_name": str(model),
            "weights": weights_fingerprint(handle.model),
            "dataset": portable_path(Path(dataset or EVAL_SPLIT)),
            "dataset_name": str(dataset or "synthetic-eval"), "family": family,
            "dataset_content": dataset_fingerprint(Path(dataset or EVAL_SPLIT)),
            "n_layers": handle.n_layers, "k": window,
            "engine": engine, "flows": list(plan.flows), "lens_variants": list(plan.lens_variants),
            "claims": [s.id for s in specs], "claims_dir": str(claims_dir) if claims_dir else None,
            "question_ids": [s.row["question_id"] for s in samples], "device": device,
            "dtype": dtype, "attn": attn, "threads": torch.get_num_threads(),
            "flowcheck_version": __version__, "random_weights": random_weights(model),
            "self_checks": {c.name: "passed" for c in checks},
            "adapter": handle.adapter.record(),
            "box_painting": {p: BOX_PAINTINGS[p] for p in sorted({s.box_painting for s in samples})},
            "bootstrap": {"seed": BOOTSTRAP_SEED, "resamples": N_BOOTSTRAP},
            "environment": environment(str(handle.device)), "shards": shard.count,
            "device_map": None if device_map is None else sorted({str(handle.layer_device(i))
                                                                  for i in range(handle.n_layers)}),
            "noise": None if noise is None else {"pp": bound.pp, "lens": bound.lens}}
    folder = RunFolder(out)
    if shard.count > 1:
        return _run_shard(handle, samples, plan, folder, meta, shard, progress, t0, batch_size)
    with folder.locked():  # one writer at a time; released when the run is written
        folder.create(meta)
        counts = execute(handle, samples, plan, folder, progress=progress, batch_size=batch_size)
        return _finish(folder, meta, folder.latest_rows(), counts, t0)


def _finish(folder, meta, rows: dict, counts: dict, t0: float, **timing) -> SuiteResult:
    """Record timing and the rows' notes in run.json, then judge and render (folder held)."""
    meta["timing_s"] = {"measure": round(time.perf_counter() - t0, 1), **counts, **timing}
    meta["layout_notes"], meta["non_finite"] = layout_notes(rows.values()), non_finite(rows.values())
    folder.write_meta(meta)
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


def non_finite(rows) -> dict:
    """{question_id: [where]} of samples with a non-finite number (overflow or NaN: which
    flow and window centre, lens layer, or the clean run); they are left out of the verdicts."""
    return {r["question_id"]: r["non_finite"] for r in rows if r.get("non_finite")}


def layout_notes(rows) -> dict:
    """Question ids per layout note of the run's rows: ``object_cut_off`` (the preprocessing
    left the question's object no image token), ``original_code_differs`` (the original
    LLaVA-NeXT code would tile the image otherwise; see ``models.adapters.llava_next``)."""
    out: dict = {}
    for row in rows:
        for note in row.get("layout_notes", {}):
            out.setdefault(note, []).append(row["question_id"])
    return out


@dataclass
class StoredRun:
    """A run folder read back: its meta, claim specs, evidence and sample counts (no model)."""

    run_dir: Path
    meta: dict
    specs: list
    evidence: object  # claims.judge.Evidence
    counts: dict
    rows: dict  # question_id -> the stored row the evidence was built from

    @property
    def noise(self):
        """The float-noise bound the verdicts' noise ranges use: the run's own (run.json
        "noise", from ``--noise``) or the bound measured for float32 (``noise.NOISE_PP``)."""
        from .claims.noise import NOISE_LENS, NOISE_PP
        from .claims.statistics import Noise
        given = self.meta.get("noise") or {}
        return Noise(float(given.get("pp", NOISE_PP)), float(given.get("lens", NOISE_LENS)))

    def judge(self, evidence=None, **kw) -> list:
        """Verdicts of the run's claims on its evidence (or on ``evidence`` in its place),
        with the noise ranges of ``self.noise`` unless ``noise=`` says otherwise."""
        kw.setdefault("noise", self.noise)
        boot = self.meta.get("bootstrap") or {}  # the recorded seed (runs before it: the default)
        kw.setdefault("seed", int(boot.get("seed", BOOTSTRAP_SEED)))
        kw.setdefault("n_bootstrap", int(boot.get("resamples", N_BOOTSTRAP)))
        return judge_all(self.specs, evidence if evidence is not None else self.evidence,
                         self.meta["family"], tasks=sorted(self.counts), **kw)


def load_run(run_dir: Path) -> StoredRun:
    """Read run.json + results.jsonl of a run folder."""
    folder = RunFolder(run_dir)
    meta = folder.meta()
    specs = load_claims(claim_dirs(meta.get("claims_dir")), meta["claims"])
    variant = next(iter({s.lens_variant for s in specs if s.lens_variant}), None)
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
    return StoredRun(folder.path, meta, specs, ev, counts, rows)


def judge_run(run_dir: Path, plots: bool = True) -> SuiteResult:
    """Re-judge a run folder from run.json + results.jsonl and write the report files."""
    from .claims.serialise import dumps, verdicts_to_dict
    from .report.html import render_html
    from .report.plots import plot_panels
    from .report.summary import render_summary

    run = load_run(run_dir)
    verdicts = run.judge()
    summary = render_summary(run.meta, verdicts, run.counts, rows=run.rows.values())
    written = plot_panels(run.evidence, run.run_dir, run.meta["model_name"]) if plots else []
    with RunFolder(run.run_dir).locked() as folder:
        folder.write_report(dumps(verdicts_to_dict(verdicts)), summary, render_html(summary, written))
    return SuiteResult(run.run_dir, verdicts, run.counts, run.meta)
