"""Exact vs fast engine, side by side in one process, on the same sweep.

Both engines run with the same model, attention implementation, dtype and threads; the
clean run and encoding are timed in both. Peak RSS is sampled every 5 ms in each phase.
"""
from __future__ import annotations

import threading
import time
from contextlib import contextmanager

from .knockout.flows import CORE_FLOWS


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
    from .knockout.clean import clean_run
    from .knockout.configs import engine_probabilities
    fn = engine_probabilities(engine)
    out = []
    for s in samples:
        enc = handle.encode(s)
        clean = clean_run(handle, enc)
        out.append(fn(handle, enc, clean, configs))
    return out


def compare_engines(handle, samples, flows=CORE_FLOWS, k: int | None = None) -> dict:
    """Time exact and fast engines on all (flow, centre) configs of every sample."""
    import torch

    from .knockout.attention import text_attn_implementation
    from .knockout.configs import plan_configs
    configs = plan_configs(flows, handle.n_layers, k)
    run_engine(handle, samples[:1], configs[:1], "fast")  # warm-up (lazy inits)
    timings, results, rss = {}, {}, {}
    for engine in ("fast", "exact"):
        with peak_rss() as peak:
            t0 = time.perf_counter()
            results[engine] = run_engine(handle, samples, configs, engine)
            timings[engine] = time.perf_counter() - t0
        rss[engine] = peak["mb"]
    diff = max(abs(a - b) for pe, pf in zip(results["exact"], results["fast"]) for a, b in zip(pe, pf))
    return {
        "model": handle.name, "n_samples": len(samples), "n_layers": handle.n_layers,
        "seq_len": handle.encode(samples[0]).seq_len, "flows": list(flows),
        "n_configs": len(configs) * len(samples), "exact_s": round(timings["exact"], 3),
        "fast_s": round(timings["fast"], 3), "speedup": round(timings["exact"] / timings["fast"], 2),
        "max_abs_diff": diff, "peak_rss_mb_exact": round(rss["exact"], 1),
        "peak_rss_mb_fast": round(rss["fast"], 1),
        "attn_implementation": text_attn_implementation(handle.model),
        "dtype": str(handle.model.dtype), "threads": torch.get_num_threads(),
    }
