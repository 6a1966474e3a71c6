"""SmolVLM: the longest edge to 2048 px (small images enlarged), then multiples of 512, 512-px
tiles with ``<row_i_col_j>`` markers, a global image last; SigLIP 16-px patches pixel-shuffled
by 4 (64 tokens per tile, 64-px cells); the language model at ``model.model.text_model``.

- token counts equal the processor's (GQA sizes and random sizes);
- the token order is the model's own (tile, then raster within a tile: a change in one 64-px
  block of one tile moves exactly the feature the layout names);
- related == the mask method through the stock image processor (three resizes);
- markers are text, the question and last are found, the fixture tests something, fast == exact.
"""
import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw

from flowcheck.data.boxes import paint_box
from flowcheck.data.dataset import place_on_canvas, select_samples
from flowcheck.measure.clean import clean_run
from flowcheck.measure.configs import KnockoutConfig, engine_probabilities, plan_configs
from flowcheck.measure.flows import flows_for
from flowcheck.models.fixtures.checkpoints import build_handle

GQA_SIZES = [(500, 375), (375, 500), (500, 333), (640, 480), (500, 500), (333, 500), (224, 224), (64, 64)]


@pytest.fixture(scope="module")
def smol():
    """The fixture at 4 of its layers (CPU time), q/k weights scaled so that attention matters."""
    handle = build_handle("smolvlm-256m", text_layers=4, vision_layers=2)
    with torch.no_grad():
        for layer in handle.layers:
            layer.self_attn.q_proj.weight.mul_(8)
            layer.self_attn.k_proj.weight.mul_(8)
    return handle


def sizes(n: int, seed: int) -> list[tuple[int, int]]:
    rng = np.random.default_rng(seed)
    return [(int(rng.integers(30, 2500)), int(rng.integers(30, 2500))) for _ in range(n)]


def test_token_counts_equal_the_processors_and_small_images_are_enlarged(smol):
    ip = smol.processor.image_processor
    for w, h in GQA_SIZES + sizes(30, seed=1):
        layout = smol.adapter.layout(smol.processor, smol.model, w, h)
        frames, rows, cols = ip.get_number_of_image_patches(h, w, {})
        tiles = [s.name for s in layout.segments if s.name.startswith("tile_")]
        assert layout.n_tokens == 64 * frames and len(tiles) == rows * cols, (w, h)
    n = {size: smol.adapter.layout(smol.processor, smol.model, *size).n_tokens
         for size in [(500, 375), (224, 224)]}
    assert n[(224, 224)] > n[(500, 375)]  # enlarged to 2048 px first: 4 x 4 tiles against 4 x 3


def test_tokens_markers_are_text_question_and_last(smol):
    s = place_on_canvas(select_samples(None, tasks=["ChooseAttr"], max_samples=1)[0], 500, 375)
    enc = smol.encode(s)
    ids, tok = enc.input_ids[0].tolist(), smol.tokenizer
    image = list(enc.regions.image)
    starts = [p for p in image if p - 1 not in image]  # the first token of each span
    assert len(starts) == 13 and all(ids[p - 1] != smol.image_token_id for p in starts)
    markers = tok.convert_ids_to_tokens([ids[starts[0] - 1], ids[starts[-1] - 1]])
    assert markers == ["<row_1_col_1>", "<global-img>"]
    assert tok.decode([ids[i] for i in enc.regions.question]).strip() == s.question
    assert enc.regions.last == (len(ids) - 1,) and tok.decode(ids[-4:]).endswith("Assistant:")
    assert smol.token_layout(s) == (enc.seq_len, len(image), list(enc.regions.question))


def test_token_order_is_the_models_own_tile_then_raster_within_a_tile(smol):
    """With the vision blocks removed, each feature depends on its own 4 x 4 patches only."""
    encoder = smol.model.model.vision_model.encoder
    blocks, encoder.layers = encoder.layers, torch.nn.ModuleList()
    try:
        layout = smol.adapter.layout(smol.processor, smol.model, 300, 200)  # 4 x 3 tiles + global
        assert len(layout.segments) == 13
        pixels = torch.randn(1, 13, 3, 512, 512)
        rng = np.random.default_rng(0)

        def features(pixel_values):  # (tiles * 64, d) in sequence order
            out = smol.adapter.vision_output(smol.model, {"pixel_values": pixel_values})
            return torch.cat(list(out.pooler_output))
        with torch.no_grad():
            base = features(pixels)
            for _ in range(12):
                t, a, c = int(rng.integers(13)), int(rng.integers(8)), int(rng.integers(8))
                changed = pixels.clone()
                changed[0, t, :, 64 * a:64 * a + 64, 64 * c:64 * c + 64] += 1.0
                moved = torch.nonzero((features(changed) - base).abs().amax(-1) > 1e-6).flatten().tolist()
                assert moved == [layout.segments[t].offset + a * 8 + c], (t, a, c)
    finally:
        encoder.layers = blocks


def _red_tokens(processor, w, h, boxes, painting) -> set[int]:
    """The mask method: red boxes on black through the stock image processor (every resize
    nearest-neighbour, no rescale or normalisation); a token is related when its 64 x 64 block
    of its tile (tiles, then the global image) holds a red pixel."""
    mask = Image.new("RGB", (w, h), (0, 0, 0))
    draw = ImageDraw.Draw(mask)
    grow = 0 if painting == "paper" else 1
    for x, y, bw, bh in boxes:
        draw.rectangle([x, y, x + bw - grow, y + bh - grow], fill=(255, 0, 0))
    out = processor.image_processor(mask, do_rescale=False, do_normalize=False, resample=Image.NEAREST,
                                    return_tensors="pt")
    red = out["pixel_values"][0, :, 0] > 127.5  # (frames, 512, 512)
    cells = red.reshape(red.shape[0], 8, 64, 8, 64).any(4).any(2)  # (frames, 8, 8)
    return {int(i) for i in torch.nonzero(cells.flatten())}


def test_related_rule_equals_the_mask_method_through_the_stock_processor(smol):
    rng = np.random.default_rng(0)
    for w, h in GQA_SIZES + sizes(12, seed=2):
        boxes = []
        for _ in range(int(rng.integers(1, 4))):
            bw, bh = int(rng.integers(1, max(2, w // 3))), int(rng.integers(1, max(2, h // 3)))
            boxes.append((int(rng.integers(0, w - bw + 1)), int(rng.integers(0, h - bh + 1)), bw, bh))
        layout = smol.adapter.layout(smol.processor, smol.model, w, h)
        for painting in ("paper", "exact"):
            painted = [p[0] for p in (paint_box(b, painting, w, h) for b in boxes) if p is not None]
            assert set(layout.related(painted)) == _red_tokens(smol.processor, w, h, boxes, painting), \
                (w, h, boxes, painting)


def test_the_fixture_tests_something_and_fast_equals_exact(smol):
    base = select_samples(None, tasks=["ChooseAttr", "QueryAttr"], max_samples=1)
    a, b = (smol.encode(place_on_canvas(s, 300, 200)) for s in base)
    fa, fb = a.image_features, b.image_features
    assert (fa - fb).abs().max() > 1e-3 * fa.abs().max()
    clean = clean_run(smol, a)
    n = smol.n_layers
    (p,) = engine_probabilities("exact")(smol, a, clean, [KnockoutConfig("image->last", 0, range(n))])
    assert abs(p - clean.p_base) > 1e-4 * clean.p_base
    configs = plan_configs(flows_for(smol.adapter.groups), n, 2)
    fast = np.array(engine_probabilities("fast")(smol, a, clean, configs))
    exact = np.array(engine_probabilities("exact")(smol, a, clean, configs))
    assert np.abs(fast - exact).max() <= 1e-5


def test_the_smolvlm_template_is_the_checkpoints_own_chat_template(smol):
    from flowcheck.models.prompts import PROMPTS, chat_prompt
    assert chat_prompt(smol.processor).text == PROMPTS["smolvlm"].text
