"""Property: the fast engine gives the exact engine's p(answer) within 1e-5 (float32),
for random flows, windows, samples and numbers of batched configs."""
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flowcheck.measure.clean import clean_run
from flowcheck.measure.configs import KnockoutConfig
from flowcheck.measure.exact import exact_probabilities
from flowcheck.measure.fast import fast_probabilities
from flowcheck.measure.flows import CORE_FLOWS
from flowcheck.measure.windows import window

TOL = 1e-5


def configs_strategy(n_layers: int, max_configs: int):
    config = st.builds(
        lambda flow, centre, k: KnockoutConfig(flow, centre, window(centre, k, n_layers)),
        st.sampled_from(CORE_FLOWS), st.integers(0, n_layers - 1), st.integers(1, n_layers))
    return st.lists(config, min_size=1, max_size=max_configs)


def _check(handle, sample, configs):
    enc = handle.encode(sample)
    clean = clean_run(handle, enc)
    exact = exact_probabilities(handle, enc, clean, configs)
    fast = fast_probabilities(handle, enc, clean, configs)
    diffs = [abs(a - b) for a, b in zip(exact, fast)]
    assert max(diffs) <= TOL, list(zip([c.flow for c in configs], exact, fast))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_fast_equals_exact_on_reference(reference_handle, eval_samples, data):
    sample = data.draw(st.sampled_from(eval_samples))
    configs = data.draw(configs_strategy(reference_handle.n_layers, 8))
    _check(reference_handle, sample, configs)


@pytest.mark.slow
@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_fast_equals_exact_on_llava15_layout(llava15_handle, eval_samples, data):
    sample = data.draw(st.sampled_from(eval_samples))
    configs = data.draw(configs_strategy(llava15_handle.n_layers, 3))
    _check(llava15_handle, sample, configs)


@pytest.mark.parametrize("impl", ["eager", "sdpa"])
def test_fast_equals_exact_under_both_attention_paths(tiny_handle, eval_samples, impl):
    from flowcheck.measure.configs import plan_configs
    tiny_handle.model.set_attn_implementation(impl)
    try:
        _check(tiny_handle, eval_samples[0], plan_configs(CORE_FLOWS, tiny_handle.n_layers, 3))
    finally:
        tiny_handle.model.set_attn_implementation("eager")


# every family, on a fixture true to a paper checkpoint (fewer layers for speed), on images of
# the aspect ratios the paper's GQA images have
FAMILY_FIXTURES = {"llava": "llava-1.5-7b", "llava_next": "llava-v1.6-vicuna-7b",
                   "llava_next (Llama-3, 4:1 grouped heads)": "llama3-llava-next-8b",
                   "qwen2_vl (M-RoPE)": "qwen2-vl-2b", "qwen2_5_vl (M-RoPE, windowed ViT)": "qwen2.5-vl-3b",
                   "qwen3_vl (interleaved M-RoPE, DeepStack)": "qwen3-vl-2b",
                   "internvl (tiles and a thumbnail, <img> wrappers)": "internvl3-1b",
                   "llava_onevision (SigLIP anyres, newlines)": "llava-onevision-0.5b",
                   "gemma3 (two rotary tables, sliding layers, bidirectional image)": "gemma-3-4b",
                   "smolvlm (tiles with markers, a global image)": "smolvlm-256m"}


@pytest.fixture(scope="module")
def family_handles():
    from flowcheck.models.fixtures.checkpoints import build_handle
    handles = {family: build_handle(name, text_layers=6, vision_layers=2)
               for family, name in FAMILY_FIXTURES.items()}
    for handle in handles.values():  # InternVL: at most 4 tiles (CPU time; tiling is tested on its own)
        if handle.adapter.family == "internvl":
            handle.processor.image_processor.max_patches = 4
    return handles


def test_every_registered_family_has_an_agreement_test():
    from flowcheck.models.adapters import ADAPTERS
    covered = {f.split(" ")[0] for f in FAMILY_FIXTURES}
    assert {cls.family for cls in ADAPTERS.values()} <= covered


@pytest.mark.parametrize("family", FAMILY_FIXTURES)
@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_fast_equals_exact_for_every_family(family_handles, eval_samples, family, data):
    from flowcheck.data.dataset import place_on_canvas
    from flowcheck.measure.flows import flows_for
    handle = family_handles[family]
    sample = data.draw(st.sampled_from(eval_samples[:6]))
    w, h = data.draw(st.sampled_from([(64, 64), (200, 150), (150, 200), (300, 100)]))
    sample = place_on_canvas(sample, w, h, (w - 64) // 3, (h - 64) // 2)
    flows = flows_for(handle.adapter.groups)
    n = handle.n_layers
    config = st.builds(lambda flow, centre, k: KnockoutConfig(flow, centre, window(centre, k, n)),
                       st.sampled_from(flows), st.integers(0, n - 1), st.integers(1, n))
    _check(handle, sample, data.draw(st.lists(config, min_size=1, max_size=6)))
