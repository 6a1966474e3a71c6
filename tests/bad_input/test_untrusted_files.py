"""Nothing from a model folder, dataset or claim spec runs as code; broken instrumentation is
refused at load, naming the check; an error inside a knockout leaves the model as it was."""
import json
from dataclasses import replace

import pytest

from flowcheck.errors import ModelError, SpecError


@pytest.fixture(scope="module")
def tiny_folder(tmp_path_factory):
    """A 2-layer reference-architecture model saved as safetensors."""
    from flowcheck.models.fixtures.tiny import ReferenceSpec, build_model, build_processor
    folder = tmp_path_factory.mktemp("tiny")
    spec = replace(ReferenceSpec(), text_layers=2, vision_layers=1)
    processor = build_processor(spec)
    model = build_model(spec, processor.tokenizer, 0)
    model.save_pretrained(folder)
    processor.save_pretrained(folder)
    return folder, model


def test_pickle_weights_are_refused_unless_allowed(tiny_folder, tmp_path):
    import shutil

    import torch

    from flowcheck.models.loading import load_model
    folder, model = tiny_folder
    shutil.copytree(folder, tmp_path / "m")
    (tmp_path / "m" / "model.safetensors").unlink()
    torch.save(model.state_dict(), tmp_path / "m" / "pytorch_model.bin")
    with pytest.raises(ModelError, match="pickle weights .* can run code .* --allow-pickle"):
        load_model(tmp_path / "m")
    loaded, _ = load_model(tmp_path / "m", allow_pickle=True)
    assert torch.equal(loaded.lm_head.weight, model.lm_head.weight)


def test_code_in_a_model_folder_never_runs(tiny_folder, tmp_path):
    """A processor that asks for the folder's own code (auto_map) is refused, and the code's
    side effect never happens; an unknown architecture is refused before anything loads."""
    import shutil

    from flowcheck.models.loading import load_model
    folder, _ = tiny_folder
    shutil.copytree(folder, tmp_path / "m")
    marker = tmp_path / "ran"
    (tmp_path / "m" / "evil.py").write_text(
        f"open({str(marker)!r}, 'w').write('code from the model folder ran')\n"
        "from transformers import LlavaProcessor as EvilProcessor\n")
    cfg = json.loads((tmp_path / "m" / "processor_config.json").read_text())
    cfg["auto_map"] = {"AutoProcessor": "evil.EvilProcessor"}
    (tmp_path / "m" / "processor_config.json").write_text(json.dumps(cfg))
    try:
        load_model(tmp_path / "m")
    except ModelError as e:
        assert "never runs" in str(e)
    assert not marker.exists()
    config = json.loads((tmp_path / "m" / "config.json").read_text())
    config.update(architectures=["EvilForConditionalGeneration"],
                  auto_map={"AutoModel": "evil.EvilForConditionalGeneration"})
    (tmp_path / "m" / "config.json").write_text(json.dumps(config))
    with pytest.raises(ModelError, match="'EvilForConditionalGeneration' is not supported"):
        load_model(tmp_path / "m")
    assert not marker.exists()


def test_claim_specs_are_data_only(tmp_path):
    from flowcheck.claims.spec import load_claims
    marker = tmp_path / "ran"
    (tmp_path / "evil.yaml").write_text(f"!!python/object/apply:os.system ['touch {marker}']\n")
    with pytest.raises(SpecError):
        load_claims([tmp_path])
    assert not marker.exists()


def test_a_mask_the_attention_ignores_is_refused_at_load(tiny_handle, eval_samples, monkeypatch):
    """Simulates a transformers change that routes attention around flowcheck's mask."""
    import flowcheck.measure.attention as attention
    from flowcheck.measure.selfcheck import SelfCheckError, run_self_checks
    monkeypatch.setattr(attention, "apply_block", lambda mask, blocked, query, key: mask)
    with pytest.raises(SelfCheckError, match="the knockout reaches every layer and changes the output"):
        run_self_checks(tiny_handle, eval_samples[0])


def test_an_attention_that_cannot_take_a_mask_is_refused(tiny_handle, eval_samples):
    from transformers import AttentionInterface
    from transformers.integrations.sdpa_attention import sdpa_attention_forward

    from flowcheck.measure.selfcheck import run_self_checks
    AttentionInterface.register("mask_blind", sdpa_attention_forward)
    tiny_handle.model.set_attn_implementation({"text_config": "mask_blind"})
    try:
        with pytest.raises(ModelError, match="'mask_blind' cannot take a knockout mask"):
            run_self_checks(tiny_handle, eval_samples[0])
    finally:
        tiny_handle.model.set_attn_implementation("eager")


def test_an_error_inside_a_knockout_leaves_the_model_as_it_was(tiny_handle, eval_samples):
    import torch

    from flowcheck.measure.attention import _ACTIVE, knockout, text_attn_implementation
    from flowcheck.measure.mask import blocked_edges
    from flowcheck.models.fingerprint import weights_fingerprint
    before, impl = weights_fingerprint(tiny_handle.model), text_attn_implementation(tiny_handle.model)
    enc = tiny_handle.encode(eval_samples[0])
    clean = tiny_handle.forward(enc).logits
    edges = blocked_edges(enc.regions, "image->last")[None]
    with pytest.raises(RuntimeError, match="on purpose"):
        with torch.no_grad(), knockout(tiny_handle.model, {0: edges, 1: edges}):
            tiny_handle.forward(enc)
            raise RuntimeError("failed on purpose inside a knockout")
    assert weights_fingerprint(tiny_handle.model) == before
    assert text_attn_implementation(tiny_handle.model) == impl and _ACTIVE.get() is None
    assert torch.equal(tiny_handle.forward(enc).logits, clean)
