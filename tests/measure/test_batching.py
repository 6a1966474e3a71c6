"""Batching knockout configs (--batch-size) changes throughput, never results: B = 1, 4, 16
give the same p(answer) within 1e-5 in float32 on both engines, and the same stored numbers
(relative change, pp) within the float-noise bound."""
import pytest

from flowcheck.claims.noise import NOISE_PP
from flowcheck.measure.clean import clean_run
from flowcheck.measure.configs import engine_probabilities, plan_configs
from flowcheck.measure.flows import CORE_FLOWS
from flowcheck.measure.metrics import relative_change


@pytest.fixture(scope="module")
def case():
    from flowcheck.data.dataset import select_samples
    from flowcheck.models.handle import load_handle
    handle = load_handle("paper-route", attn_implementation="eager")
    sample = select_samples(None, tasks=["CompareAttr"], max_samples=1)[0]
    enc = handle.encode(sample)
    return handle, enc, clean_run(handle, enc, sample.answer), plan_configs(CORE_FLOWS, handle.n_layers, 3)


@pytest.mark.parametrize("engine", ["exact", "fast"])
@pytest.mark.parametrize("batch", [4, 16])
def test_batch_sizes_give_the_results_of_batch_size_one(case, engine, batch):
    handle, enc, clean, configs = case
    fn = engine_probabilities(engine)
    one = fn(handle, enc, clean, configs, batch_size=1)
    many = fn(handle, enc, clean, configs, batch_size=batch)
    assert len(one) == len(many) == 72
    assert max(abs(a - b) for a, b in zip(one, many)) <= 1e-5
    pp = max(abs(relative_change(a, clean.p_base) - relative_change(b, clean.p_base))
             for a, b in zip(one, many))
    assert pp <= NOISE_PP, pp
