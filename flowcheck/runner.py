"""Plan -> execute -> store: the experiments a set of claims needs, run once per sample.

The plan is the union of the selected claims' flows and lens variants (deduplicated), one
window size k. Execution writes one JSON line per sample to ``<run>/results.jsonl`` as
soon as it is measured (append-only): an interrupted run loses at most the sample in
flight, and a rerun skips every sample already stored for the same plan. ``evidence()``
turns the store into per-sample curves for the judge; nothing here judges.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from .claims.judge import Evidence
from .errors import RunFolderError, UsageError

RESULTS = "results.jsonl"
RUN_META = "run.json"


@dataclass(frozen=True)
class RunPlan:
    flows: tuple[str, ...]
    lens_variants: tuple[str, ...]
    k: int | None  # None: the model depth's default
    engine: str = "fast"

    def __post_init__(self):
        from .knockout.configs import ENGINES
        if self.engine not in ENGINES:
            raise UsageError(f"unknown engine {self.engine!r}; use one of {', '.join(ENGINES)}")

    @classmethod
    def for_claims(cls, specs, k: int | None = None, engine: str = "fast") -> "RunPlan":
        from .knockout.flows import FLOWS
        flows = {f for s in specs for f in s.flows}
        variants = {s.lens_variant or "raw" for s in specs if "lens" in s.analysis}
        windows = {s.window for s in specs if s.window is not None}
        if k is None and len(windows) > 1:
            raise UsageError(f"the selected claims ask for different window sizes {sorted(windows)}; "
                             "pass one with --window or select claims that agree")
        k = k if k is not None else (windows.pop() if windows else None)
        return cls(tuple(f for f in FLOWS if f in flows), tuple(sorted(variants)), k, engine)

    @classmethod
    def from_meta(cls, meta: dict) -> "RunPlan":
        """The plan a run folder's run.json records."""
        return cls(tuple(meta["flows"]), tuple(meta["lens_variants"]), meta["k"], meta["engine"])


DEFAULT_ATTN = {"fast": "sdpa", "exact": "eager"}  # what each engine loads unless told


def store_key(plan: RunPlan, n_layers: int, attn: str | None = None) -> dict:
    """What a stored row must match to be reused: the window size k, the engine and the
    attention implementation (default: the engine's own, ``DEFAULT_ATTN``)."""
    from .windows import default_k
    return {"k": plan.k or default_k(n_layers), "engine": plan.engine,
            "attn": attn or DEFAULT_ATTN[plan.engine]}


def _row_attn(row: dict) -> str:
    """Rows stored before 'attn' was recorded were measured with their engine's default."""
    return row.get("attn") or DEFAULT_ATTN.get(row["engine"], "eager")


def stored(run_dir: Path) -> list[dict]:
    """Every stored sample line (a torn last line from a kill is ignored)."""
    path = Path(run_dir) / RESULTS
    if not path.is_file():
        return []
    out = []
    for line in path.read_text().splitlines():
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return out


def _covers(row: dict, plan: RunPlan, key: dict) -> bool:
    return (row["k"] == key["k"] and row["engine"] == key["engine"]
            and _row_attn(row) == key["attn"]
            and (not row["correct"] or (set(plan.flows) <= set(row["changes"])
                                        and set(plan.lens_variants) <= set(row["lens"]))))


def _same_path(a, b) -> bool:
    """Stored paths are checkout-relative (or absolute outside it, and in older runs)."""
    from .paths import resolve_portable
    if a is None or b is None:
        return a == b
    return resolve_portable(a).resolve() == resolve_portable(b).resolve()


def check_run_dir(run_dir: Path, meta: dict) -> Path:
    """Create the run folder; refuse one that holds another model's or dataset's results, or
    results of the same model folder with other weights (run folders written before the
    fingerprint existed carry none and are taken as they are)."""
    run_dir = Path(run_dir)
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise OSError(f"cannot write the run folder {str(run_dir)!r} ({e.strerror}); pass a "
                      "writable --out") from e
    path = run_dir / RUN_META
    if path.is_file():
        old = json.loads(path.read_text())
        for field in ("model", "dataset"):
            if not _same_path(old.get(field), meta.get(field)):
                raise RunFolderError(f"{run_dir} holds results for {field} {old.get(field)!r}, not "
                                 f"{meta.get(field)!r}; pass another --out or delete the folder")
        if old.get("weights") and meta.get("weights") and old["weights"] != meta["weights"]:
            raise RunFolderError(f"{run_dir} holds results for other weights of {meta.get('model')!r} "
                             f"(fingerprint {old['weights']}, now {meta['weights']}): the model was "
                             "changed since (fine-tuned, quantised, pruned or loaded in another "
                             "dtype); pass another --out or delete the folder")
    path.write_text(json.dumps(meta, indent=1, sort_keys=True) + "\n")
    return run_dir


def measure_sample(handle, sample, plan: RunPlan, key: dict, configs) -> dict:
    """One sample's stored row: clean answer, and (if correct) the relative change of
    p(answer) for every (flow, window) config and the lens curves of each variant."""
    from .knockout.clean import clean_run
    from .knockout.exact import exact_probabilities
    from .knockout.fast import fast_probabilities
    from .knockout.flows import parse_flow
    from .lens import answer_tokens, logit_lens
    from .metrics import relative_change

    enc = handle.encode(sample)
    clean = clean_run(handle, enc, sample.answer)
    row = {"question_id": sample.row["question_id"], "task": sample.task, "answer": sample.answer,
           "model_answer": clean.answer_text, "correct": clean.correct,
           "p_base": clean.p_base, **key, "changes": {}, "lens": {}}
    if not clean.correct:
        return row
    probabilities = fast_probabilities if plan.engine == "fast" else exact_probabilities
    usable = [c for c in configs if enc.regions.group(parse_flow(c.flow).src)]
    p = probabilities(handle, enc, clean, usable) if usable else []
    for cfg, pk in zip(usable, p):
        row["changes"].setdefault(cfg.flow, []).append(relative_change(pk, clean.p_base))
    for flow in plan.flows:  # a flow whose source region is empty: not measured
        row["changes"].setdefault(flow, None)
    tokens = answer_tokens(handle.tokenizer, sample.answer)
    for variant in plan.lens_variants:
        lens = logit_lens(handle, clean, tokens, variant)
        row["lens"][variant] = {t: lens.probs[t] for t in ("lower", "capitalised")}
    return row


def execute(handle, samples, plan: RunPlan, run_dir: Path, progress: bool = True) -> dict:
    """Measure every sample not yet stored for ``plan``; returns counts {measured, reused}."""
    from .knockout.attention import text_attn_implementation
    from .knockout.configs import plan_configs

    key = store_key(plan, handle.n_layers, text_attn_implementation(handle.model))
    done = {r["question_id"] for r in stored(run_dir) if _covers(r, plan, key)}
    todo = [s for s in samples if s.row["question_id"] not in done]
    configs = plan_configs(plan.flows, handle.n_layers, key["k"])
    it = todo
    if progress and todo:
        from tqdm import tqdm
        it = tqdm(todo, desc=f"flowcheck ({plan.engine} engine)", unit="sample", dynamic_ncols=True)
    path = Path(run_dir) / RESULTS
    if path.is_file() and path.stat().st_size and not path.read_bytes().endswith(b"\n"):
        with open(path, "a") as store:  # a line torn by a kill: end it, never extend it
            store.write("\n")
    with open(path, "a") as store:
        for s in it:
            store.write(json.dumps(measure_sample(handle, s, plan, key, configs), sort_keys=True) + "\n")
            store.flush()
            os.fsync(store.fileno())
    return {"measured": len(todo), "reused": len(samples) - len(todo)}


def latest_rows(run_dir: Path, plan: RunPlan, n_layers: int, question_ids=None,
                attn: str | None = None) -> dict:
    """{question_id: stored row} measured for ``plan`` (the latest line for a sample wins)."""
    key = store_key(plan, n_layers, attn)
    return {r["question_id"]: r for r in stored(run_dir)
            if _covers(r, plan, key) and (question_ids is None or r["question_id"] in question_ids)}


def evidence(run_dir: Path, plan: RunPlan, n_layers: int, question_ids=None,
             lens_variant: str | None = None, attn: str | None = None) -> tuple[Evidence, dict]:
    """(Evidence of the correctly answered samples, counts per task {n, n_correct})."""
    import numpy as np

    rows = latest_rows(run_dir, plan, n_layers, question_ids, attn)
    counts: dict = {}
    for r in rows.values():
        c = counts.setdefault(r["task"], {"n": 0, "n_correct": 0})
        c["n"] += 1
        c["n_correct"] += bool(r["correct"])
    ok = [rows[q] for q in sorted(rows) if rows[q]["correct"]]  # store order never matters
    nan = np.full(n_layers, np.nan)
    curves = {f: np.array([r["changes"][f] if r["changes"][f] is not None else nan for r in ok],
                          dtype=float).reshape(len(ok), n_layers) for f in plan.flows}
    variant = lens_variant or (plan.lens_variants[0] if plan.lens_variants else None)
    if variant:
        for t in ("lower", "capitalised"):
            curves[f"lens:{t}"] = np.array([r["lens"][variant][t] for r in ok],
                                           dtype=float).reshape(len(ok), n_layers)
    tasks = np.array([r["task"] for r in ok], dtype=object)
    return Evidence(n_layers, tasks, curves), counts
