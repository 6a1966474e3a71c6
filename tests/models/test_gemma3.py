"""Gemma 3 as a full adapter: 896-px squash, 14-px patches pooled 4 x 4 (56-px cells, 256
tokens between ``<start_of_image>`` / ``<end_of_image>`` and blank lines), ``token_type_ids``
(a bidirectional image block), local and global rotary tables, sliding-window layers.

- related == the mask method through the stock image processor and the model's own pooling;
- fast == exact with each layer type's own rotary table, and a guard: with one table for
  every layer the fast engine is off, so the agreement can fail;
- a prompt longer than the sliding window is refused by the fast engine (the exact one runs);
- tokens: soft tokens are the image, the markers are text; the fixture tests something.
"""
import dataclasses

import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw

from flowcheck.claims.noise import NOISE_PP
from flowcheck.data.boxes import paint_box
from flowcheck.data.dataset import place_on_canvas, select_samples
from flowcheck.measure.clean import clean_run
from flowcheck.measure.configs import KnockoutConfig, engine_probabilities, plan_configs
from flowcheck.measure.flows import flows_for
from flowcheck.measure.metrics import relative_change
from flowcheck.models.fixtures.checkpoints import build_handle


@pytest.fixture(scope="module")
def gemma():
    """The fixture at 7 of its layers (5 sliding, 1 global, 1 sliding), q/k scaled so that
    attention, and with it the rotary angle, matters."""
    handle = build_handle("gemma-3-4b", text_layers=7, vision_layers=2)
    with torch.no_grad():
        for layer in handle.layers:
            layer.self_attn.q_proj.weight.mul_(8)
            layer.self_attn.k_proj.weight.mul_(8)
    return handle


def sample(w=500, h=375, task="ChooseAttr"):
    return place_on_canvas(select_samples(None, tasks=[task], max_samples=1)[0], w, h)


def test_tokens_soft_tokens_are_the_image_markers_are_text(gemma):
    s = sample()
    enc = gemma.encode(s)
    ids, tok = enc.input_ids[0].tolist(), gemma.tokenizer
    image = list(enc.regions.image)
    assert len(image) == 256 and image == list(range(image[0], image[0] + 256))
    assert gemma.processor.image_token_id != gemma.model.config.image_token_id  # the processor's: a marker
    assert tok.convert_ids_to_tokens([ids[image[0] - 1], ids[image[-1] + 1]]) == ["<start_of_image>",
                                                                                  "<end_of_image>"]
    assert tok.decode([ids[i] for i in enc.regions.question]).strip() == s.question
    assert enc.regions.last == (len(ids) - 1,) and tok.decode(ids[-3:]) == "<start_of_turn>model\n"
    assert "token_type_ids" in enc.inputs and int(enc.inputs["token_type_ids"][0, image].min()) == 1
    assert gemma.token_layout(s) == (enc.seq_len, 256, list(enc.regions.question))


def _red_tokens(handle, w, h, boxes, painting) -> set[int]:
    """The mask method: red boxes on black through the stock image processor (nearest, no
    rescale or normalisation); a patch is red when it holds a red pixel; the model's own 4 x 4
    average pool; a token is related when its pooled value is above zero."""
    mask = Image.new("RGB", (w, h), (0, 0, 0))
    draw = ImageDraw.Draw(mask)
    grow = 0 if painting == "paper" else 1
    for x, y, bw, bh in boxes:
        draw.rectangle([x, y, x + bw - grow, y + bh - grow], fill=(255, 0, 0))
    pv = handle.processor.image_processor(mask, do_rescale=False, do_normalize=False, resample=Image.NEAREST,
                                          return_tensors="pt")["pixel_values"]  # (1, 3, 896, 896)
    red = (pv[0, 0] > 127.5).reshape(64, 14, 64, 14).any(3).any(1).float()  # (64, 64) patches
    pooled = handle.model.model.multi_modal_projector.avg_pool(red[None, None])[0, 0]  # (16, 16)
    return {int(i) for i in torch.nonzero(pooled.flatten() > 0)}


def test_related_rule_equals_the_mask_method_through_the_processor_and_the_models_pooling(gemma):
    rng = np.random.default_rng(0)
    sizes = [(500, 375), (375, 500), (500, 333), (640, 480), (500, 500), (333, 500)]
    sizes += [(int(rng.integers(40, 1500)), int(rng.integers(40, 1500))) for _ in range(20)]
    for w, h in sizes:
        boxes = []
        for _ in range(int(rng.integers(1, 4))):
            bw, bh = int(rng.integers(1, max(2, w // 3))), int(rng.integers(1, max(2, h // 3)))
            boxes.append((int(rng.integers(0, w - bw + 1)), int(rng.integers(0, h - bh + 1)), bw, bh))
        layout = gemma.adapter.layout(gemma.processor, gemma.model, w, h)
        assert layout.n_tokens == 256
        for painting in ("paper", "exact"):
            painted = [p[0] for p in (paint_box(b, painting, w, h) for b in boxes) if p is not None]
            assert set(layout.related(painted)) == _red_tokens(gemma, w, h, boxes, painting), (w, h, boxes)


def changes(handle, enc, engine, configs):
    clean = clean_run(handle, enc)
    p = np.array(engine_probabilities(engine)(handle, enc, clean, configs))
    return p, np.array([relative_change(x, clean.p_base) for x in p])


def test_fast_equals_exact_with_each_layer_types_rotary_table(gemma, monkeypatch):
    assert gemma.model.config.text_config.layer_types[5] == "full_attention"
    enc = gemma.encode(sample())
    configs = plan_configs(flows_for(gemma.adapter.groups), gemma.n_layers, 2)
    (pf, rf), (pe, re_) = changes(gemma, enc, "fast", configs), changes(gemma, enc, "exact", configs)
    assert np.abs(pf - pe).max() <= 1e-5 and np.abs(rf - re_).max() <= NOISE_PP
    # the guard: one (the local) table for every layer moves the fast engine's numbers
    adapter_class = type(gemma.adapter)
    local = adapter_class.rotary_tables

    def one_table(self, model, x, position_ids):
        tables = local(self, model, x, position_ids)
        return [tables[0]] * len(tables)
    monkeypatch.setattr(adapter_class, "rotary_tables", one_table)
    _, wrong = changes(gemma, enc, "fast", configs)
    assert np.abs(wrong - re_).max() > 100 * NOISE_PP


def test_the_fast_engine_refuses_a_prompt_longer_than_the_sliding_window(gemma):
    from flowcheck.errors import ModelError
    enc = gemma.encode(sample())
    cfg = gemma.model.config.text_config
    window, cfg.sliding_window = cfg.sliding_window, enc.seq_len - 1
    try:
        configs = plan_configs(("question->last",), gemma.n_layers, 2)[:2]
        with pytest.raises(ModelError, match="sliding window .* use --engine exact"):
            changes(gemma, enc, "fast", configs)
        changes(gemma, enc, "exact", configs)  # the model's own masks: measured
    finally:
        cfg.sliding_window = window


def test_the_fixture_tests_something_images_differ_and_a_knockout_moves_p(gemma):
    a, b = gemma.encode(sample(224, 224, "ChooseAttr")), gemma.encode(sample(224, 224, "QueryAttr"))
    assert (a.image_features - b.image_features).abs().max() > 1e-3 * a.image_features.abs().max()
    clean = clean_run(gemma, a)
    blocked = KnockoutConfig("image->last", 0, range(gemma.n_layers))
    (p,) = engine_probabilities("exact")(gemma, a, clean, [blocked])
    assert abs(p - clean.p_base) > 1e-4 * clean.p_base
    emb = gemma.model.model.multi_modal_projector.mm_input_projection_weight
    assert emb.abs().max() > 0  # transformers' zero init re-drawn


def test_the_gemma3_template_is_the_checkpoints_own_chat_template(gemma):
    from flowcheck.models.prompts import PROMPTS, chat_prompt
    assert dataclasses.astuple(chat_prompt(gemma.processor))[1:] == dataclasses.astuple(PROMPTS["gemma3"])[1:]
