"""A quantised checkpoint (a config with ``quantization_config``) loads through transformers'
own quantiser and is measured as it is: here torchao int8 weight-only, which runs on the CPU
(bitsandbytes 8/4-bit needs CUDA: ``tests/gpu``). The engines run on the quantised linear
layers (fast == exact within the float32 noise bound, which the measured int8 noise stays
under), run.json and the summary record the quantisation, and the weights fingerprint
follows the quantised values."""
import json
import shutil
import warnings

import numpy as np
import pytest

from flowcheck.claims.noise import NOISE_PP


@pytest.fixture(scope="module")
def int8_folder(tmp_path_factory):
    """The reference model quantised at load (torchao Int8WeightOnlyConfig) and saved as a
    user's quantised checkpoint is: safetensors plus a config carrying quantization_config."""
    import torch
    from torchao.quantization import Int8WeightOnlyConfig
    from transformers import TorchAoConfig

    from flowcheck.models.loading import load_model
    from flowcheck.paths import REFERENCE_MODEL
    base, processor = load_model("reference")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = type(base).from_pretrained(REFERENCE_MODEL, dtype=torch.float32,
                                           quantization_config=TorchAoConfig(Int8WeightOnlyConfig()))
    folder = tmp_path_factory.mktemp("quantised") / "reference-int8"
    model.save_pretrained(folder)
    processor.save_pretrained(folder)
    shutil.copy(REFERENCE_MODEL / "flowcheck_card.json", folder)
    return folder


def test_the_checkpoint_loads_quantised_and_the_engines_agree(int8_folder, eval_samples):
    from flowcheck.measure.clean import clean_run
    from flowcheck.measure.configs import engine_probabilities, plan_configs
    from flowcheck.measure.flows import CORE_FLOWS
    from flowcheck.measure.metrics import relative_change
    from flowcheck.models.handle import load_handle
    handle = load_handle(int8_folder, attn_implementation="eager")
    weight = handle.layers[0].self_attn.q_proj.weight
    assert type(weight).__name__ == "Int8Tensor"  # the quantiser's tensor, not dequantised floats
    configs = plan_configs(CORE_FLOWS, handle.n_layers, 3)
    worst = 0.0
    for sample in eval_samples[:3]:
        enc = handle.encode(sample)
        clean = clean_run(handle, enc)
        fast = engine_probabilities("fast")(handle, enc, clean, configs)
        exact = engine_probabilities("exact")(handle, enc, clean, configs)
        assert np.abs(np.array(fast) - np.array(exact)).max() <= 1e-5
        worst = max(worst, max(abs(relative_change(a, clean.p_base) - relative_change(b, clean.p_base))
                               for a, b in zip(fast, exact)))
    assert worst <= NOISE_PP


def test_a_run_records_the_quantisation_and_fingerprints_the_quantised_weights(int8_folder, tmp_path):
    from flowcheck.cli.main import main
    args = ["--tasks", "ChooseAttr", "--max-samples", "2", "--claims", "last_to_last_negligible"]
    assert main(["run", "--model", str(int8_folder), *args, "--out", str(tmp_path / "q")]) in (0, 1)
    assert main(["run", "--model", "reference", *args, "--out", str(tmp_path / "f")]) in (0, 1)
    q = json.loads((tmp_path / "q" / "run.json").read_text())
    f = json.loads((tmp_path / "f" / "run.json").read_text())
    assert q["quantization"]["quant_method"] == "torchao" and f["quantization"] is None
    assert q["weights"] != f["weights"]
    assert "- quantised: torchao Int8WeightOnlyConfig" in (tmp_path / "q" / "summary.md").read_text()


def test_loading_a_model_prints_no_optional_extension_noise():
    """torchao (pinned for quantised checkpoints) logs "Failed to load <.so>" for its CUDA and
    other-Python extensions, and torch a deprecation note, whenever transformers imports it:
    loading through flowcheck leaves them out (and nothing else)."""
    import subprocess
    import sys
    code = ("import logging; from flowcheck.models.loading import load_model; load_model('paper-route'); "
            "logging.getLogger('torchao').warning('another torchao message')")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "Failed to load" not in proc.stderr and "Enum subclass" not in proc.stderr
    assert "another torchao message" in proc.stderr
