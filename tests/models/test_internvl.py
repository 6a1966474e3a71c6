"""InternVL (-hf checkpoints): tiles of 448 px chosen by the processor's canvas rule, a
thumbnail last, pixel shuffle 0.5 (28-px cells, 256 tokens per tile), ``<img>``/``</img>``
around the image tokens, 1-D rotary positions.

- the tile grid equals transformers' own rule (ties included) on every size tried;
- token counts equal the processor's, on the paper's GQA image sizes and random ones;
- the token order (tile, then raster within a tile) is the model's own: a change inside one
  28-px block of one tile changes exactly the image feature the layout names for it;
- related == the mask method through the stock image processor;
- the fixture tests something (zero-initialised vision parameters re-drawn): two images give
  different features and blocking image->last moves p; fast == exact.
"""
import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw

from flowcheck.data.boxes import paint_box
from flowcheck.data.dataset import place_on_canvas, select_samples
from flowcheck.models.adapters.internvl import internvl_layout, tile_grid
from flowcheck.models.fixtures.checkpoints import build_handle

GQA_SIZES = [(500, 375), (375, 500), (500, 333), (640, 480), (500, 500), (333, 500), (640, 427), (800, 600)]


@pytest.fixture(scope="module")
def internvl():
    """The fixture at 4 of its layers (CPU time), q/k weights scaled so that attention matters."""
    handle = build_handle("internvl3-1b", text_layers=4, vision_layers=2)
    with torch.no_grad():
        for layer in handle.layers:
            layer.self_attn.q_proj.weight.mul_(8)
            layer.self_attn.k_proj.weight.mul_(8)
    return handle


def random_sizes(n: int, seed: int = 0) -> list[tuple[int, int]]:
    rng = np.random.default_rng(seed)
    return [(int(rng.integers(40, 1400)), int(rng.integers(40, 1400))) for _ in range(n)]


def test_the_tile_grid_is_the_processors_rule_ties_included():
    from transformers.models.got_ocr2.image_processing_pil_got_ocr2 import get_optimal_tiled_canvas
    sizes = GQA_SIZES + random_sizes(300) + [(448, 448), (896, 448), (1000, 1000), (100, 100), (300, 100)]
    for w, h in sizes:
        for lo, hi in ((1, 12), (1, 6), (2, 12)):
            want = get_optimal_tiled_canvas((h, w), (448, 448), lo, hi)
            assert tile_grid(w, h, 448, lo, hi) == want, (w, h)
    # the tie rule: a square image ties (1,1), (2,2) and (3,3); more tiles win only for a large image
    assert tile_grid(224, 224, 448, 1, 12) == (1, 1)
    assert tile_grid(1000, 1000, 448, 1, 12) == (3, 3)


def test_token_counts_equal_the_processors_and_wrappers_are_text(internvl):
    processor, tok = internvl.processor, internvl.tokenizer
    base = select_samples(None, tasks=["ChooseAttr"], max_samples=1)[0]
    for w, h in GQA_SIZES + random_sizes(12, seed=1):
        layout = internvl.adapter.layout(processor, internvl.model, w, h)
        n_tiles = processor.image_processor.get_number_of_image_patches(
            h, w, processor._merge_kwargs(tokenizer_init_kwargs=tok.init_kwargs)["images_kwargs"])
        assert layout.n_tokens == 256 * n_tiles, (w, h)
    for w, h in [(500, 375), (224, 224)]:
        s = place_on_canvas(base, w, h)
        enc = internvl.encode(s)
        ids = enc.input_ids[0].tolist()
        image = list(enc.regions.image)
        assert image == list(range(image[0], image[-1] + 1))
        assert tok.convert_ids_to_tokens([ids[image[0] - 1], ids[image[-1] + 1]]) == ["<img>", "</img>"]
        assert len(image) == internvl.adapter.layout(processor, internvl.model, w, h).n_tokens
        assert tok.decode([ids[i] for i in enc.regions.question]).strip() == s.question
        assert enc.regions.last == (len(ids) - 1,) and tok.decode(ids[-3:]) == "<|im_start|>assistant\n"
        assert internvl.token_layout(s) == (enc.seq_len, len(image), list(enc.regions.question))
    assert len(image) == 256  # 224 x 224: one tile, no thumbnail


def test_token_order_is_the_models_own_tile_then_raster_within_a_tile(internvl):
    """With the vision blocks removed, each image feature depends on its own 2 x 2 patches only:
    changing one 28-px block of one tile changes exactly the feature the layout names for it."""
    model = internvl.model
    encoder = model.model.vision_tower.encoder
    blocks, encoder.layer = encoder.layer, torch.nn.ModuleList()
    try:
        ip = internvl.processor.image_processor
        w, h = 300, 200  # 3 x 2 tiles and a thumbnail
        layout = internvl_layout(w, h, 448, 16, (ip.min_patches, ip.max_patches))
        names = [f"tile_{r}_{c}" for r in range(2) for c in range(3)] + ["thumbnail"]
        assert [s.name for s in layout.segments] == names
        pixels = torch.randn(7, 3, 448, 448)
        rng = np.random.default_rng(0)
        def features(pixel_values):  # (tiles * 256, d): the image tokens' features in sequence order
            out = internvl.adapter.vision_output(model, {"pixel_values": pixel_values})
            return out.pooler_output.flatten(0, 1)
        with torch.no_grad():
            base = features(pixels)
            for _ in range(12):
                t, a, c = int(rng.integers(7)), int(rng.integers(16)), int(rng.integers(16))
                changed = pixels.clone()
                changed[t, :, 28 * a:28 * a + 28, 28 * c:28 * c + 28] += 1.0
                out = features(changed)
                moved = torch.nonzero((out - base).abs().amax(-1) > 1e-6).flatten().tolist()
                assert moved == [layout.segments[t].offset + a * 16 + c], (t, a, c)
    finally:
        encoder.layer = blocks


def _red_tokens(processor, w, h, boxes, painting) -> set[int]:
    """The mask method: the boxes drawn red on black, through the image processor (its tiles and
    thumbnail, nearest-neighbour, no rescale or normalisation); a token is related when its
    28 x 28 block of its tile holds a red pixel (tiles, then raster order within a tile)."""
    mask = Image.new("RGB", (w, h), (0, 0, 0))
    draw = ImageDraw.Draw(mask)
    grow = 0 if painting == "paper" else 1
    for x, y, bw, bh in boxes:
        draw.rectangle([x, y, x + bw - grow, y + bh - grow], fill=(255, 0, 0))
    kw = processor._merge_kwargs(tokenizer_init_kwargs=processor.tokenizer.init_kwargs)["images_kwargs"]
    out = processor.image_processor(mask, do_rescale=False, do_normalize=False, resample=Image.NEAREST,
                                    return_tensors="pt", **kw)
    red = out["pixel_values"][:, 0] > 127.5  # (tiles, 448, 448)
    cells = red.reshape(red.shape[0], 16, 28, 16, 28).any(4).any(2)  # (tiles, 16, 16)
    return {int(i) for i in torch.nonzero(cells.flatten())}


def test_related_rule_equals_the_mask_method_through_the_stock_processor(internvl):
    rng = np.random.default_rng(0)
    agree = 0
    for w, h in GQA_SIZES + random_sizes(16, seed=2):
        boxes = []
        for _ in range(int(rng.integers(1, 4))):
            bw, bh = int(rng.integers(1, max(2, w // 3))), int(rng.integers(1, max(2, h // 3)))
            boxes.append((int(rng.integers(0, w - bw + 1)), int(rng.integers(0, h - bh + 1)), bw, bh))
        layout = internvl.adapter.layout(internvl.processor, internvl.model, w, h)
        for painting in ("paper", "exact"):
            painted = [p[0] for p in (paint_box(b, painting, w, h) for b in boxes) if p is not None]
            assert set(layout.related(painted)) == _red_tokens(internvl.processor, w, h, boxes, painting), \
                (w, h, boxes, painting)
            agree += 1
    assert agree == 2 * (len(GQA_SIZES) + 16)


def test_the_fixture_tests_something_images_differ_and_a_knockout_moves_p(internvl):
    from flowcheck.measure.clean import clean_run
    from flowcheck.measure.configs import KnockoutConfig, engine_probabilities
    base = select_samples(None, tasks=["ChooseAttr", "QueryAttr"], max_samples=1)
    a, b = (internvl.encode(place_on_canvas(s, 224, 224)) for s in base)
    fa, fb = a.vision.pooler_output, b.vision.pooler_output
    assert (fa - fb).abs().max() > 1e-3 * fa.abs().max()
    assert fa.std(dim=1).mean() > 1e-3 * fa.abs().mean()  # features vary across positions too
    clean = clean_run(internvl, a)
    n = internvl.n_layers
    (p,) = engine_probabilities("exact")(internvl, a, clean, [KnockoutConfig("image->last", 0, range(n))])
    assert abs(p - clean.p_base) > 1e-4 * clean.p_base


def test_zero_initialised_vision_parameters_are_redrawn():
    handle = build_handle("internvl3-1b", text_layers=1, vision_layers=1)
    emb = handle.model.model.vision_tower.embeddings
    assert emb.cls_token.abs().max() > 0 and emb.position_embeddings.abs().max() > 0


def test_fast_equals_exact_on_tiles_and_thumbnail(internvl):
    from flowcheck.measure.clean import clean_run
    from flowcheck.measure.configs import engine_probabilities, plan_configs
    from flowcheck.measure.flows import flows_for
    base = select_samples(None, tasks=["ChooseAttr"], max_samples=1)[0]
    configs = plan_configs(flows_for(internvl.adapter.groups), internvl.n_layers, 2)
    for w, h in [(224, 224), (200, 100)]:  # one tile; 2 x 1 tiles and a thumbnail
        enc = internvl.encode(place_on_canvas(base, w, h))
        clean = clean_run(internvl, enc)
        fast = np.array(engine_probabilities("fast")(internvl, enc, clean, configs))
        exact = np.array(engine_probabilities("exact")(internvl, enc, clean, configs))
        assert np.abs(fast - exact).max() <= 1e-5


def test_remote_code_internvl_is_refused_with_the_hf_conversion_named():
    from flowcheck.errors import ModelError
    from flowcheck.models.adapters import adapter_class
    with pytest.raises(ModelError, match="remote-code checkpoint.*InternVL3-1B-hf"):
        adapter_class("InternVLChatModel")


def test_the_internvl_template_is_the_checkpoints_own_chat_template(internvl):
    from flowcheck.models.prompts import PROMPTS, chat_prompt
    assert chat_prompt(internvl.processor).text == PROMPTS["internvl"].text
