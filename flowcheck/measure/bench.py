"""Exact vs fast engine, side by side in one process, on the same sweep.

Both engines run with the same model, attention implementation, dtype and threads; the
clean run and encoding are timed in both. Peak RSS is sampled every 5 ms in each phase.
"""
from __future__ import annotations

import threading
import time
from contextlib import contextmanager

from .flows import CORE_FLOWS


@contextmanager
def peak_rss():
    """Yields a dict whose 'mb' is the peak resident set size (MB) seen while inside."""
    import psutil
    proc, result, stop = psutil.Process(), {"mb": 0.0}, threading.Event()

    def sample():
        while not stop.is_set():
            result["mb"] = max(result["mb"], proc.memory_info().rss / 2**20)
            stop.wait(0.005)
    t = threading.Thread(target=sample, daemon=True)
    t.start()
    try:
        yield result
    finally:
        stop.set()
        t.join()


def run_engine(handle, samples, configs, engine: str):
    from .clean import clean_run
    from .configs import engine_probabilities
    fn = engine_probabilities(engine)
    out = []
    for s in samples:
        enc = handle.encode(s)
        clean = clean_run(handle, enc)
        out.append(fn(handle, enc, clean, configs))
    return out


# The paper's full protocol: the six GQA task files, about 5.5k rows (issue of the GPU lane;
# the exact count depends on the files), every flow at every window centre.
PAPER_ROWS = 5500


def compare_engines(handle, samples, flows=CORE_FLOWS, k: int | None = None) -> dict:
    """Time exact and fast engines on all (flow, centre) configs of every sample (on a GPU
    with CUDA synchronisation and its peak allocated memory), and project the paper's full
    protocol (``PAPER_ROWS`` samples, every one counted as answered correctly) from it."""
    import torch

    from .attention import text_attn_implementation
    from .configs import plan_configs
    configs = plan_configs(flows, handle.n_layers, k)
    cuda = handle.device.type == "cuda"
    run_engine(handle, samples[:1], configs[:1], "fast")  # warm-up (lazy inits, kernels)
    timings, results, rss, gpu_peak = {}, {}, {}, {}
    for engine in ("fast", "exact"):
        if cuda:
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
        with peak_rss() as peak:
            t0 = time.perf_counter()
            results[engine] = run_engine(handle, samples, configs, engine)
            if cuda:
                torch.cuda.synchronize()
            timings[engine] = time.perf_counter() - t0
        rss[engine] = peak["mb"]
        if cuda:
            gpu_peak[engine] = round(torch.cuda.max_memory_allocated() / 2**20, 1)
    diff = max(abs(a - b) for pe, pf in zip(results["exact"], results["fast"]) for a, b in zip(pe, pf))
    per_sample = {e: timings[e] / len(samples) for e in timings}
    extra = {"gpu": torch.cuda.get_device_name(handle.device), "peak_gpu_mb_fast": gpu_peak["fast"],
             "peak_gpu_mb_exact": gpu_peak["exact"]} if cuda else {}
    return {
        **extra, "projected_for": f"{PAPER_ROWS} samples (the paper's GQA files) x {len(flows)} flows "
                                  f"x {handle.n_layers} window centres, on this device",
        "projected_hours_fast": round(per_sample["fast"] * PAPER_ROWS / 3600, 2),
        "projected_hours_exact": round(per_sample["exact"] * PAPER_ROWS / 3600, 2),
        "model": handle.name, "n_samples": len(samples), "n_layers": handle.n_layers,
        "seq_len": handle.encode(samples[0]).seq_len, "flows": list(flows),
        "n_configs": len(configs) * len(samples), "exact_s": round(timings["exact"], 3),
        "fast_s": round(timings["fast"], 3), "speedup": round(timings["exact"] / timings["fast"], 2),
        "max_abs_diff": diff, "peak_rss_mb_exact": round(rss["exact"], 1),
        "peak_rss_mb_fast": round(rss["fast"], 1),
        "attn_implementation": text_attn_implementation(handle.model),
        "dtype": str(handle.model.dtype), "threads": torch.get_num_threads(),
    }
