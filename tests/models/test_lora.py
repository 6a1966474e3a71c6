"""A LoRA adapter folder (PEFT) runs as the model it adapts: its base from the adapter config or
``--base``, the adapter merged into the weights (merged and unmerged give the same numbers
within float noise), run.json recording base and adapter, and ``compare base adapted`` works.
The adapter is trained nowhere: PEFT initialises it at random on the shipped reference model."""
import json

import numpy as np
import pytest

from flowcheck.cli.main import main
from flowcheck.errors import ModelError, UsageError
from flowcheck.models.source import read_source


@pytest.fixture(scope="module")
def adapter(tmp_path_factory):
    """A LoRA adapter (r 4) on the reference model's language-model q/v projections, random A
    and B (PEFT's init_lora_weights=False: not the no-op start of training), saved as PEFT does."""
    import torch
    from peft import LoraConfig, get_peft_model

    from flowcheck.models.loading import load_model
    model, _ = load_model("reference")
    torch.manual_seed(0)
    config = LoraConfig(r=4, lora_alpha=8, target_modules=r".*language_model.*\.(q_proj|v_proj)",
                        init_lora_weights=False)
    peft_model = get_peft_model(model, config)
    folder = tmp_path_factory.mktemp("lora") / "adapter"
    peft_model.save_pretrained(folder)
    saved = json.loads((folder / "adapter_config.json").read_text())
    (folder / "adapter_config.json").write_text(json.dumps({**saved, "base_model_name_or_path": "reference"}))
    return folder


def test_an_adapter_folder_is_read_as_its_base_with_the_adapter(adapter):
    source = read_source(adapter)
    base = read_source("reference")
    assert source.lora is not None and source.lora.base == "reference"
    assert (source.path, source.architecture, source.family) == (base.path, base.architecture, base.family)
    record = source.lora.record()
    assert record["r"] == 4 and record["lora_alpha"] == 8 and len(record["weights_sha256"]) == 16


def test_merged_and_unmerged_give_the_same_numbers_and_differ_from_the_base(adapter, eval_samples):
    from flowcheck.measure.clean import clean_run
    from flowcheck.measure.configs import engine_probabilities, plan_configs
    from flowcheck.measure.flows import CORE_FLOWS
    from flowcheck.models.handle import ModelHandle, load_handle
    from flowcheck.models.loading import load_model
    from flowcheck.models.lora import apply_adapter
    merged = load_handle(adapter, attn_implementation="eager")
    base_model, processor = load_model("reference")
    unmerged = ModelHandle(apply_adapter(base_model, read_source(adapter).lora, merge=False), processor,
                           adapter=merged.adapter)
    base = load_handle("reference", attn_implementation="eager")
    configs = plan_configs(CORE_FLOWS, merged.n_layers, 3)[::5]
    sample = eval_samples[0]
    p = {}
    for name, handle in (("merged", merged), ("unmerged", unmerged), ("base", base)):
        enc = handle.encode(sample)
        clean = clean_run(handle, enc)
        p[name] = np.array([clean.p_base, *engine_probabilities("exact")(handle, enc, clean, configs)])
    assert np.abs(p["merged"] - p["unmerged"]).max() <= 1e-5
    assert np.abs(p["merged"] - p["base"]).max() > 1e-3  # the adapter changes the model


def test_a_run_records_base_and_adapter_and_compares_with_its_base(adapter, tmp_path, capsys):
    args = ["--tasks", "ChooseAttr", "--max-samples", "2", "--claims", "last_to_last_negligible"]
    assert main(["run", "--model", str(adapter), *args, "--out", str(tmp_path / "adapted")]) in (0, 1)
    assert main(["run", "--model", "reference", *args, "--out", str(tmp_path / "base")]) in (0, 1)
    adapted = json.loads((tmp_path / "adapted" / "run.json").read_text())
    base = json.loads((tmp_path / "base" / "run.json").read_text())
    assert adapted["lora"]["base"] == "reference" and adapted["lora"]["merged"] is True
    assert adapted["model"] == str(adapter) and base["lora"] is None
    assert adapted["weights"] != base["weights"]  # the fingerprint is the adapted model's
    assert "- LoRA adapter `" in (tmp_path / "adapted" / "summary.md").read_text()
    capsys.readouterr()
    assert main(["compare", str(tmp_path / "base"), str(tmp_path / "adapted")]) in (0, 1)
    assert "Traceback" not in capsys.readouterr().err


def test_a_base_given_on_the_command_line_wins_and_mistakes_are_named(adapter, tmp_path):
    assert read_source(adapter, base="paper-route").lora.base == "paper-route"
    bare = tmp_path / "bare"
    bare.mkdir()
    config = json.loads((adapter / "adapter_config.json").read_text())
    (bare / "adapter_config.json").write_text(json.dumps({**config, "base_model_name_or_path": None}))
    (bare / "adapter_model.safetensors").write_bytes((adapter / "adapter_model.safetensors").read_bytes())
    with pytest.raises(UsageError, match="names no base model .* pass --base"):
        read_source(bare)
    (bare / "adapter_config.json").write_text(json.dumps({**config, "peft_type": "IA3"}))
    with pytest.raises(ModelError, match="peft_type 'IA3'"):
        read_source(bare)
    with pytest.raises(UsageError, match="--base 'reference' is for a LoRA adapter folder"):
        read_source("paper-route", base="reference")
