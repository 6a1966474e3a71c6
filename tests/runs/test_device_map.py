"""--device-map: a model spread over devices (accelerate) gives the numbers it gives on one.

On the CPU every layer lands on the CPU, so this checks the loading path and the run folder;
the engines' per-layer device moves are checked in the GPU lane across two GPUs."""
import json

import pytest

from flowcheck import run as run_suite
from flowcheck.analysis.noise import differences

ARGS = dict(tasks=["ChooseAttr"], max_samples=3, claims=["question_to_last_middle"], progress=False)


def test_device_map_auto_on_the_cpu_equals_the_plain_load(tmp_path):
    plain = run_suite("reference", out=tmp_path / "plain", **ARGS)
    mapped = run_suite("reference", out=tmp_path / "mapped", device_map="auto", **ARGS)
    assert json.loads((mapped.run_dir / "run.json").read_text())["device_map"] == ["cpu"]
    d = differences(plain.run_dir, mapped.run_dir)
    assert d["changes_pp"]["max_abs"] <= 2e-3 and not d["verdicts"]["flips"]


def split_map(n_layers: int) -> dict:
    """Vision tower, embeddings and the lower half of the layers on cuda:0; the rest on cuda:1."""
    lm = "model.language_model"
    out = {"model.vision_tower": 0, "model.multi_modal_projector": 0, f"{lm}.embed_tokens": 0,
           f"{lm}.rotary_emb": 0, f"{lm}.norm": 1, "lm_head": 1}
    out.update({f"{lm}.layers.{i}": 0 if i < n_layers // 2 else 1 for i in range(n_layers)})
    return out


@pytest.mark.flowcheck_gpu(n=2)
@pytest.mark.parametrize("engine", ["fast", "exact"])
def test_a_model_split_over_two_gpus_gives_the_single_gpu_numbers(engine):
    from flowcheck.data.dataset import select_samples
    from flowcheck.measure.clean import clean_run
    from flowcheck.measure.configs import engine_probabilities, plan_configs
    from flowcheck.measure.flows import CORE_FLOWS
    from flowcheck.models.handle import load_handle
    one = load_handle("paper-route", device="cuda:0", attn_implementation="eager")
    two = load_handle("paper-route", attn_implementation="eager", device_map=split_map(one.n_layers))
    assert {str(two.layer_device(i)) for i in range(two.n_layers)} == {"cuda:0", "cuda:1"}
    configs = plan_configs(CORE_FLOWS, one.n_layers, 3)
    for sample in select_samples(None, tasks=["ChooseAttr", "CompareAttr"], max_samples=2):
        results = []
        for handle in (one, two):
            enc = handle.encode(sample)
            clean = clean_run(handle, enc, sample.answer)
            results.append(engine_probabilities(engine)(handle, enc, clean, configs))
        assert max(abs(a - b) for a, b in zip(*results)) <= 1e-5
