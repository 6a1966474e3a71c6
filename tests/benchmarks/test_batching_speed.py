"""Benchmark (skipped by default; `pytest tests/benchmarks --benchmark-enable`): the exact
engine with B configs per forward vs one, side by side in one run (a ratio, not seconds)."""
import time

import pytest

from flowcheck.measure.clean import clean_run
from flowcheck.measure.configs import engine_probabilities, plan_configs
from flowcheck.measure.flows import CORE_FLOWS


@pytest.mark.parametrize("engine, batch", [("exact", 16), ("fast", None)])
def test_batching_speed_ratio(benchmark, engine, batch):
    """Records batch-1 time / batched time (extra_info ``speedup``); asserts nothing about it."""
    from flowcheck.data.dataset import select_samples
    from flowcheck.models.handle import load_handle
    handle = load_handle("paper-route", attn_implementation="eager")
    samples = select_samples(None, max_samples=1)
    configs = plan_configs(CORE_FLOWS, handle.n_layers, 3)
    encoded = [(handle.encode(s), s) for s in samples]
    cleans = [clean_run(handle, e, s.answer) for e, s in encoded]
    fn = engine_probabilities(engine)

    def sweep(b):
        t = time.perf_counter()
        for (e, _), c in zip(encoded, cleans):
            fn(handle, e, c, configs, batch_size=b)
        return time.perf_counter() - t
    sweep(1)  # warm-up
    one = sweep(1)
    many = benchmark.pedantic(sweep, args=(batch,), rounds=3, iterations=1)
    benchmark.extra_info.update(one_s=one, batched_s=many, speedup=one / many, batch=str(batch))
    print(f"{engine}: batch 1 {one:.2f} s, batch {batch} {many:.2f} s, x{one / many:.2f}")
