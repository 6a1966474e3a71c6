"""Plan -> execute -> store: the experiments a set of claims needs, run once per sample.

The plan is the union of the selected claims' flows and lens variants (deduplicated), one
window size k. Execution writes one JSON line per sample to the run folder's
``results.jsonl`` as soon as it is measured (append-only): an interrupted run loses at
most the sample in flight, and a rerun skips every sample already stored for the same
plan. Reading the store back is ``run_folder.RunFolder``'s; nothing here judges.
"""
from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass

from ..errors import UsageError


@dataclass(frozen=True)
class RunPlan:
    flows: tuple[str, ...]
    lens_variants: tuple[str, ...]
    k: int | None  # None: the model depth's default
    engine: str = "fast"

    def __post_init__(self):
        from ..measure.configs import ENGINES
        ENGINES.get_or_raise(self.engine)

    @classmethod
    def for_claims(cls, specs, k: int | None = None, engine: str = "fast") -> "RunPlan":
        from ..measure.flows import flow_registry
        flows = {f for s in specs for f in s.flows}
        variants = {s.lens_variant or "raw" for s in specs if "lens" in s.analysis}
        windows = {s.window for s in specs}  # None: the model depth's default
        if k is None and len(windows) > 1:
            asked = "; ".join(f"{s.id}: {s.window or 'the default for the depth'}" for s in specs)
            raise UsageError(f"the selected claims ask for different window sizes ({asked}); a run "
                             "measures one window: run them separately, or pass --window to judge "
                             "them all at one (recorded in the report)")
        k = k if k is not None else (windows.pop() if windows else None)
        return cls(tuple(f for f in flow_registry() if f in flows), tuple(sorted(variants)), k, engine)

    @classmethod
    def from_meta(cls, meta: dict) -> "RunPlan":
        """The plan a run folder's run.json records."""
        return cls(tuple(meta["flows"]), tuple(meta["lens_variants"]), meta["k"], meta["engine"])


DEFAULT_ATTN = {"fast": "sdpa", "exact": "eager"}  # what each engine loads unless told


def run_painting(samples) -> str:
    """The box painting(s) of a run's samples ('paper', 'exact', or both joined by '+')."""
    return "+".join(sorted({s.box_painting for s in samples}))


def store_key(plan: RunPlan, n_layers: int, attn: str | None = None, handle=None,
              meta: dict | None = None, painting: str | None = None) -> dict:
    """What a stored row must match to be reused: the window size k, the engine and its
    version, the attention implementation (default: the engine's own, ``DEFAULT_ATTN``),
    and the prompt template and image preprocessing (of ``handle``'s adapter, or of
    run.json's ``meta``; rows from before they were recorded read 'plain' / 'paper'), and the
    box painting of the related tokens (``painting``, ``run_painting`` of the samples, or
    run.json's; None for a run folder from before it was recorded: not checked).
    The weights, dtype and dataset are the run folder's (``RunFolder.create`` refuses others);
    the flows and lens variants a row holds are checked by ``covers``."""
    from ..measure.configs import ENGINE_VERSIONS
    from ..measure.windows import default_k
    adapter = handle.adapter.record() if handle is not None else (meta or {}).get("adapter") or {}
    if painting is None and meta is not None:
        painting = "+".join(sorted(meta.get("box_painting") or {})) or None
    return {"k": default_k(n_layers) if plan.k is None else plan.k, "engine": plan.engine,
            "engine_version": ENGINE_VERSIONS[plan.engine], "attn": attn or DEFAULT_ATTN[plan.engine],
            "box_painting": painting,
            "prompt": adapter.get("prompt", "plain"), "preprocess": adapter.get("preprocess", "paper")}


def _row_attn(row: dict) -> str:
    """Rows stored before 'attn' was recorded were measured with their engine's default."""
    return row.get("attn") or DEFAULT_ATTN.get(row["engine"], "eager")


def covers(row: dict, plan: RunPlan, key: dict) -> bool:
    """A stored row can be reused for ``plan`` measured under ``key`` (``store_key``)."""
    return (row["k"] == key["k"] and row["engine"] == key["engine"]
            and row.get("engine_version", 1) == key["engine_version"]  # rows before versions: 1
            and _row_attn(row) == key["attn"]
            and row.get("prompt", "plain") == key["prompt"]
            and row.get("preprocess", "paper") == key["preprocess"]
            and _painting_current(row, key)
            and (not row["correct"] or (set(plan.flows) <= set(row["changes"])
                                        and set(plan.lens_variants) <= set(row["lens"])
                                        and _lens_tokens_current(row, plan))))


def _painting_current(row: dict, key: dict) -> bool:
    """The row's related tokens were painted as the run paints them. Rows stored before the
    painting was recorded used the half-open box ('exact')."""
    return key.get("box_painting") is None or \
        row.get("box_painting", "exact") in key["box_painting"].split("+")


def _lens_tokens_current(row: dict, plan: RunPlan) -> bool:
    """Lens rows stored before the lens tokens were taken as written after the prompt (no
    ``lens_tokens``) followed the space-prefixed word: right after 'ASSISTANT:' (plain,
    vicuna_v1), wrong after a newline-ending chat template, so those are measured again."""
    from ..models.prompts import PROMPTS
    template = PROMPTS.get(row.get("prompt", "plain"))
    return (not plan.lens_variants or "lens_tokens" in row
            or template is None or template.answer_prefix == " ")


def measure_sample(handle, sample, plan: RunPlan, key: dict, configs, always: bool = False,
                   batch_size: int | None = None) -> dict:
    """One sample's stored row: clean answer, and (if correct, or ``always``: for timing) the
    relative change of p(answer) for every (flow, window) config and the lens curves of each
    variant."""
    from ..measure.clean import clean_run
    from ..measure.configs import engine_probabilities
    from ..measure.flows import parse_flow
    from ..measure.lens import answer_tokens, logit_lens, token_strings
    from ..measure.metrics import relative_change

    enc = handle.encode(sample)
    clean = clean_run(handle, enc, sample.answer)
    row = {"question_id": sample.row["question_id"], "task": sample.task, "answer": sample.answer,
           "model_answer": clean.answer_text, "correct": clean.correct,
           "p_base": clean.p_base, **key, "box_painting": sample.box_painting, "changes": {}, "lens": {}}
    notes = {k: v for k, v in enc.notes.items() if k != "canvas"}  # e.g. object_cut_off
    if notes:
        row["layout_notes"] = notes
    bad: list[dict] = []  # non-finite numbers (overflow / NaN): recorded, never averaged in
    if not math.isfinite(clean.p_base):
        bad.append({"what": "clean", "value": str(clean.p_base)})
        row["non_finite"] = bad
        return row
    if not (clean.correct or always):
        return row
    probabilities = engine_probabilities(plan.engine)
    usable = [c for c in configs if enc.regions.group(parse_flow(c.flow).src)]
    p = probabilities(handle, enc, clean, usable, batch_size=batch_size) if usable else []
    for cfg, pk in zip(usable, p):
        if not math.isfinite(pk):
            bad.append({"what": cfg.flow, "centre": cfg.centre,
                        "layers": [cfg.layers.start, cfg.layers.stop - 1], "value": str(pk)})
        row["changes"].setdefault(cfg.flow, []).append(relative_change(pk, clean.p_base))
    for flow in plan.flows:  # a flow whose source region is empty: not measured
        row["changes"].setdefault(flow, None)
    tokens = answer_tokens(handle.tokenizer, handle.adapter.prompt, sample.question, sample.answer)
    row["lens_tokens"] = token_strings(handle.tokenizer, tokens)  # what the lens measured
    for variant in plan.lens_variants:
        lens = logit_lens(handle, clean, tokens, variant)
        row["lens"][variant] = {t: lens.probs[t] for t in ("lower", "capitalised")}
        bad += [{"what": f"lens:{variant}:{t}", "layer": i, "value": str(x)}
                for t in ("lower", "capitalised") for i, x in enumerate(lens.probs[t])
                if not math.isfinite(x)]
    if bad:
        row["non_finite"] = bad
        for key, values in row["changes"].items():  # JSON has no NaN/inf: store them as None
            if values is not None:
                row["changes"][key] = [v if math.isfinite(v) else None for v in values]
        for variant, probs in row["lens"].items():
            row["lens"][variant] = {t: [x if math.isfinite(x) else None for x in xs]
                                    for t, xs in probs.items()}
    return row


def execute(handle, samples, plan: RunPlan, folder, progress: bool = True, shard=None,
            batch_size: int | None = None) -> dict:
    """Measure every sample not yet stored for ``plan`` in ``folder`` (a ``RunFolder``, any of
    its stores) and append each row as soon as it is measured, to the shard's own store when
    ``shard`` is one of several (``sharding.Shard``); returns counts {measured, reused}."""
    from ..measure.attention import text_attn_implementation
    from ..measure.configs import plan_configs

    key = store_key(plan, handle.n_layers, text_attn_implementation(handle.model), handle=handle,
                    painting=run_painting(samples))
    done = {r["question_id"] for r in folder.rows() if covers(r, plan, key)}
    todo = [s for s in samples if s.row["question_id"] not in done]
    configs = plan_configs(plan.flows, handle.n_layers, key["k"])
    it = todo
    if progress and todo:
        from tqdm import tqdm
        where = f", shard {shard}" if shard is not None and shard.count > 1 else ""
        it = tqdm(todo, desc=f"flowcheck ({plan.engine} engine{where})", unit="sample",
                  dynamic_ncols=True, position=shard.index if shard is not None else 0)
    path = folder.results_path_for(shard)
    if path.is_file() and path.stat().st_size and not path.read_bytes().endswith(b"\n"):
        with open(path, "a") as store:  # a line torn by a kill: end it, never extend it
            store.write("\n")
    with open(path, "a") as store:
        for s in it:
            row = measure_sample(handle, s, plan, key, configs, batch_size=batch_size)
            store.write(json.dumps(row, sort_keys=True) + "\n")
            store.flush()
            os.fsync(store.fileno())
    return {"measured": len(todo), "reused": len(samples) - len(todo)}


