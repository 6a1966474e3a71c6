"""run.json: the one writer of what a run folder records about how it was measured.

``run_record`` is used by every command that measures into a run folder (``flowcheck run``,
the pytest plugin, ``flowcheck sweep``): the model as read from its folder (``handle.source``),
the dataset, the plan, the settings asked for, the environment. ``finish_record`` adds what
is known only when the rows are in (timing, layout notes, non-finite samples).
"""
from __future__ import annotations

import json
import time
from pathlib import Path

from .._version import __version__


def run_record(settings, handle, samples, plan, window: int, claims=(), checks=(), shards: int = 1,
               noise=None, family: str | None = None) -> dict:
    """The run.json of a run about to measure (``noise``: the bound the run records, or None
    for the float32 default; ``family``: the model's threshold family)."""
    import torch

    from ..claims.judge import BOOTSTRAP_SEED, N_BOOTSTRAP
    from ..data.boxes import BOX_PAINTINGS
    from ..data.dataset import dataset_fingerprint
    from ..models.fingerprint import weights_fingerprint
    from ..paths import EVAL_SPLIT, portable_path
    from .environment import environment
    source = handle.source
    dataset = Path(settings.dataset or EVAL_SPLIT)
    return {
        "model": (source.name if source.hub or source.lora else portable_path(source.path))
        if source else handle.name, "lora": source.lora.record() if source and source.lora else None,
        "model_name": handle.name, "hub": source.hub.record() if source and source.hub else None,
        "weights": weights_fingerprint(handle.model), "quantization": quantization(handle.model),
        "random_weights": source.random_weights if source else None,
        "dataset": portable_path(dataset), "dataset_name": str(settings.dataset or "synthetic-eval"),
        "dataset_content": dataset_fingerprint(dataset), "family": family,
        "n_layers": handle.n_layers, "k": window, "engine": plan.engine, "flows": list(plan.flows),
        "lens_variants": list(plan.lens_variants), "claims": [s.id for s in claims],
        "claims_dir": settings.claims_dir and portable_path(settings.claims_dir),  # found from anywhere
        "question_ids": [s.row["question_id"] for s in samples],
        "device": settings.device, "dtype": settings.dtype, "attn": _attn(handle),
        "threads": torch.get_num_threads(), "flowcheck_version": __version__,
        "self_checks": {c.name: c.recorded for c in checks}, "adapter": handle.adapter.record(),
        "box_painting": {p: BOX_PAINTINGS[p] for p in sorted({s.box_painting for s in samples})},
        "bootstrap": {"seed": BOOTSTRAP_SEED, "resamples": N_BOOTSTRAP},
        "environment": environment(str(handle.device)), "shards": shards,
        "device_map": None if settings.device_map is None else sorted(
            {str(handle.layer_device(i)) for i in range(handle.n_layers)}),
        "noise": None if noise is None else {"pp": noise.pp, "lens": noise.lens}}


def quantization(model) -> dict | None:
    """The checkpoint's ``quantization_config`` (method and settings), or None (full precision)."""
    config = getattr(model.config, "quantization_config", None)
    if config is None:
        return None
    data = config.to_dict() if hasattr(config, "to_dict") else dict(config)
    return json.loads(json.dumps(data, default=str))  # plain JSON (torchao nests config objects)


def _attn(handle) -> str:
    from ..measure.attention import text_attn_implementation
    return text_attn_implementation(handle.model)


def finish_record(meta: dict, rows, counts: dict, t0: float, **timing) -> dict:
    """``meta`` with the run's timing, layout notes and non-finite samples (rows stored)."""
    rows = list(rows)
    meta["timing_s"] = {"measure": round(time.perf_counter() - t0, 1), **counts, **timing}
    meta["layout_notes"], meta["non_finite"] = layout_notes(rows), non_finite(rows)
    return meta


def non_finite(rows) -> dict:
    """{question_id: [where]} of samples with a non-finite number (overflow or NaN: which
    flow and window centre, lens layer, or the clean run); they are left out of the verdicts."""
    return {r["question_id"]: r["non_finite"] for r in rows if r.get("non_finite")}


def layout_notes(rows) -> dict:
    """Question ids per layout note of the run's rows: ``object_cut_off`` (the preprocessing
    left the question's object no image token) and the notes an adapter records (its
    ``note_texts``, e.g. LLaVA-NeXT's ``original_code_differs``)."""
    out: dict = {}
    for row in rows:
        for note in row.get("layout_notes", {}):
            out.setdefault(note, []).append(row["question_id"])
    return out
