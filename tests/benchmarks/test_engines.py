"""Exact vs fast engine timings (pytest-benchmark; skipped by default, run with
``pytest tests/benchmarks --benchmark-only``). Ratios, measured side by side."""
import pytest

from flowcheck.measure.bench import run_engine
from flowcheck.measure.configs import plan_configs
from flowcheck.measure.flows import CORE_FLOWS

pytestmark = pytest.mark.benchmark(group="engines", min_rounds=1, warmup=False)


@pytest.mark.parametrize("engine", ["fast", "exact"])
def test_reference_full_sweep(benchmark, reference_handle, eval_samples, engine):
    configs = plan_configs(CORE_FLOWS, reference_handle.n_layers)
    samples = eval_samples[::10]
    benchmark.pedantic(run_engine, args=(reference_handle, samples, configs, engine), rounds=1, iterations=1)


@pytest.mark.parametrize("engine", ["fast", "exact"])
@pytest.mark.parametrize("flows", [["image->last", "question->last", "last->last"], list(CORE_FLOWS)],
                         ids=["to-last", "all-six"])
def test_llava15_layout_sweep(benchmark, llava15_handle, eval_samples, engine, flows):
    configs = plan_configs(flows, llava15_handle.n_layers)[::4]  # every 4th centre
    benchmark.pedantic(run_engine, args=(llava15_handle, eval_samples[:1], configs, engine),
                       rounds=1, iterations=1)
