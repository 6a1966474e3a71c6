"""The generic path on a family with no adapter: a tiny Gemma 3, built here (its processor
expands ``<start_of_image>`` into markers, newlines and 4 image tokens; its forward needs
``token_type_ids``, without which it silently runs fully causal; its image tokens attend to
each other both ways; transformers initialises its image projector to zero). Gemma 3 has a
full adapter now; these tests take it out of the registry, so the model is measured as any
image-text-to-text model without one would be."""
import json

import pytest
import torch

import flowcheck
from flowcheck.measure.clean import clean_run

CHAT = ("{{ bos_token }}{% for m in messages %}<start_of_turn>{{ m['role'] }}\n{% for c in m['content'] %}"
        "{% if c['type'] == 'image' %}<start_of_image>{% else %}{{ c['text'] }}{% endif %}{% endfor %}"
        "<end_of_turn>\n{% endfor %}{% if add_generation_prompt %}<start_of_turn>model\n{% endif %}")


@pytest.fixture(scope="module", autouse=True)
def without_the_gemma3_adapter():
    from flowcheck.models.adapters import ADAPTERS
    name = "Gemma3ForConditionalGeneration"
    adapter = ADAPTERS[name]
    ADAPTERS.unregister(name)
    yield
    ADAPTERS.register(name, adapter)


@pytest.fixture(scope="module")
def gemma3(tmp_path_factory):
    """A Gemma 3 folder: Llama-3-kind BPE with Gemma 3's image and turn tokens, 28-px images
    in 7-px patches pooled to 4 image tokens, 4 text layers (sliding-window layers whose
    window, as the real 1024, covers the prompt), every zero-initialised matrix re-randomised
    (else every image gives the same all-zero features)."""
    from tokenizers import AddedToken
    from transformers import (
        Gemma3Config,
        Gemma3ForConditionalGeneration,
        Gemma3Processor,
        PreTrainedTokenizerFast,
    )
    from transformers.models.gemma3.image_processing_pil_gemma3 import Gemma3ImageProcessorPil

    from flowcheck.models.fixtures.tokenizers import L3_BOS, PAD, train_llama3_tokenizer
    backend = train_llama3_tokenizer().backend_tokenizer
    backend.add_special_tokens([AddedToken(t, special=True, normalized=False) for t in (
        "<start_of_image>", "<image_soft_token>", "<end_of_image>", "<start_of_turn>", "<end_of_turn>")])
    tok = PreTrainedTokenizerFast(
        tokenizer_object=backend, bos_token=L3_BOS, eos_token="<end_of_turn>", pad_token=PAD,
        extra_special_tokens={"boi_token": "<start_of_image>", "eoi_token": "<end_of_image>",
                              "image_token": "<image_soft_token>"}, clean_up_tokenization_spaces=False)
    ip = Gemma3ImageProcessorPil(size={"height": 28, "width": 28}, image_mean=[0.5] * 3, image_std=[0.5] * 3)
    processor = Gemma3Processor(image_processor=ip, tokenizer=tok, chat_template=CHAT, image_seq_length=4)
    config = Gemma3Config(
        text_config=dict(vocab_size=len(tok), hidden_size=32, intermediate_size=64, num_hidden_layers=4,
                         num_attention_heads=2, num_key_value_heads=1, head_dim=16, sliding_window=512,
                         max_position_embeddings=512, pad_token_id=tok.pad_token_id),
        vision_config=dict(hidden_size=32, intermediate_size=64, num_hidden_layers=1, num_attention_heads=2,
                           image_size=28, patch_size=7),
        mm_tokens_per_image=4, boi_token_index=tok.boi_token_id, image_token_index=tok.image_token_id,
        eoi_token_index=tok.convert_tokens_to_ids("<end_of_image>"))
    torch.manual_seed(0)
    model = Gemma3ForConditionalGeneration(config).eval()
    with torch.no_grad():
        for p in model.parameters():
            if p.dim() > 1 and not p.abs().max():
                p.normal_(0, 0.2)
    folder = tmp_path_factory.mktemp("gemma3") / "model"
    model.save_pretrained(folder)
    processor.save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def handle(gemma3):
    from flowcheck.models.handle import load_handle
    return load_handle(gemma3, attn_implementation="eager")


def test_groups_come_from_the_models_image_token_not_the_processors(handle, eval_samples):
    enc = handle.encode(eval_samples[0])
    ids = enc.input_ids[0].tolist()
    fills = handle.model.config.image_token_id
    assert handle.processor.image_token_id != fills  # Gemma 3: the processor's is begin-of-image
    assert [ids[i] for i in enc.regions.image] == [fills] * 4 and len(enc.regions.image) == 4
    marker = handle.tokenizer.convert_tokens_to_ids("<start_of_image>")
    assert ids[enc.regions.image[0] - 1] == marker  # a marker before the block: in no group
    assert handle.tokenizer.decode([ids[i] for i in enc.regions.question]).strip() == eval_samples[0].question
    assert enc.regions.last == (len(ids) - 1,) and enc.regions.related == enc.regions.other == ()


def test_every_forward_keeps_token_type_ids_which_bare_embeddings_drop(handle, eval_samples):
    enc = handle.encode(eval_samples[0])
    assert "token_type_ids" in enc.inputs
    with torch.no_grad():
        reference = handle.model(**enc.inputs).logits[0, -1]
        embeds = handle.model.get_input_embeddings()(enc.input_ids).clone()
        embeds[0, list(enc.regions.image)] = enc.image_features
        bare = handle.model(inputs_embeds=embeds, attention_mask=enc.attention_mask).logits[0, -1]
    assert (clean_run(handle, enc).logits_last - reference).abs().max() <= 1e-5
    assert (bare - reference).abs().max() > 1e-4  # what the older engines ran: another model


def test_the_fixture_tests_something_images_differ_and_a_knockout_moves_p(handle, eval_samples):
    from flowcheck.measure.configs import plan_configs
    from flowcheck.measure.exact import exact_probabilities
    a, b = handle.encode(eval_samples[0]), handle.encode(eval_samples[-1])
    assert (a.image_features - b.image_features).abs().max() > 1e-3
    clean = clean_run(handle, a)
    configs = plan_configs(("image->last",), handle.n_layers, handle.n_layers)
    (p,) = exact_probabilities(handle, a, clean, configs[:1])
    assert abs(p - clean.p_base) > 1e-6


def test_a_run_measures_what_needs_no_image_layout_and_says_what_it_cannot(gemma3, tmp_path):
    result = flowcheck.run(gemma3, tasks=["ChooseAttr"], max_samples=2, out=tmp_path / "run",
                           engine="fast", progress=False)
    meta = json.loads((tmp_path / "run" / "run.json").read_text())
    assert meta["family"] == "generic" and meta["engine"] == "exact"
    assert meta["engine_note"].startswith("exact, not fast: the fast engine runs decoder layers itself")
    assert meta["adapter"]["prompt"] == "chat"
    assert set(meta["flows"]) == {"image->question", "image->last", "question->last", "last->last"}
    assert meta["self_checks"]["blocking future positions changes nothing"].startswith(
        "passed: image tokens attend to later image tokens")
    pooled = {v.claim: v for v in result.verdicts if v.task == "all"}
    na = pooled["other_patches_early_related_middle"]
    assert na.status == "not applicable" and na.reason.startswith(
        "no image layout for Gemma3ForConditionalGeneration: related and other patches need a family adapter")
    assert all(v.status != "not applicable" for c, v in pooled.items() if c != na.claim)
    summary = (tmp_path / "run" / "summary.md").read_text()
    assert "- engine: exact, not fast" in summary and "- not measured on this model" in summary
    from flowcheck.suite import judge_run
    again = judge_run(tmp_path / "run", plots=False)  # re-judged from the folder: the same verdicts
    assert {(v.claim, v.task, v.status, v.reason) for v in again.verdicts} == {
        (v.claim, v.task, v.status, v.reason) for v in result.verdicts}
