"""LLaVA-OneVision: NeXT's anyres packing with SigLIP 384/14 (27 x 27 cells covering 378 of
384 px, no CLS), 36 pinpoints, the anyres_max_9 bilinear resize, newline tokens that carry the
image token id.

- token counts and newline positions equal the processor's and the model's own packing;
- related == the mask method through the stock image processor *and* the model's own
  ``pack_image_features`` (unpad, bilinear resize, newlines), on the paper's GQA sizes and
  random sizes up to 2,500 px (where the resize happens);
- the bilinear footprint equals the non-zero weights of ``torch.nn.functional.interpolate``;
- a box in the 6-px strip SigLIP never sees relates to no token;
- the fixture tests something; fast == exact.
"""
import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw

from flowcheck.data.boxes import paint_box
from flowcheck.data.dataset import place_on_canvas, select_samples
from flowcheck.models.adapters.llava_onevision import bilinear_footprint
from flowcheck.models.fixtures.checkpoints import build_handle

GQA_SIZES = [(500, 375), (375, 500), (500, 333), (640, 480), (500, 500), (333, 500), (640, 427), (800, 600)]


@pytest.fixture(scope="module")
def onevision():
    """The fixture at 4 of its layers (CPU time), q/k weights scaled so that attention matters."""
    handle = build_handle("llava-onevision-0.5b", text_layers=4, vision_layers=2)
    with torch.no_grad():
        for layer in handle.layers:
            layer.self_attn.q_proj.weight.mul_(8)
            layer.self_attn.k_proj.weight.mul_(8)
    return handle


def sizes(n: int, seed: int, largest: int = 2500) -> list[tuple[int, int]]:
    rng = np.random.default_rng(seed)
    return [(int(rng.integers(40, largest)), int(rng.integers(40, largest))) for _ in range(n)]


def test_the_bilinear_footprint_is_interpolates_non_zero_weights():
    rng = np.random.default_rng(0)
    for _ in range(200):
        n_in = int(rng.integers(2, 160))
        n_out = int(rng.integers(1, n_in + 1))
        eye = torch.eye(n_in)[None, None]  # (1, 1, n_in, n_in): column j is input j
        weights = torch.nn.functional.interpolate(eye, [n_out, n_in], mode="bilinear")[0, 0]  # (n_out, n_in)
        want = [tuple(int(i) for i in torch.nonzero(row).flatten()) for row in weights]
        assert bilinear_footprint(n_in, n_out) == want, (n_in, n_out)


def test_token_counts_and_newlines_equal_the_processors(onevision):
    processor = onevision.processor
    for w, h in GQA_SIZES + sizes(30, seed=1):
        layout = onevision.adapter.layout(processor, onevision.model, w, h)
        want = processor._get_num_multimodal_tokens(image_sizes=[(h, w)])["num_image_tokens"][0]
        assert layout.n_tokens == want, (w, h)
    assert onevision.adapter.layout(processor, onevision.model, 500, 375).n_tokens == 1728  # 27 newlines


def _packed_mask(handle, w, h, boxes, painting) -> tuple[set[int], set[int]]:
    """(related, newline) offsets by the mask method: the boxes drawn red on black, through the
    stock image processor (nearest-neighbour, no rescale or normalisation); a cell is red when
    its 14-px patch holds a red pixel; then the model's own packing of that one-channel
    feature (unpad, anyres_max_9 bilinear resize, a newline feature of -1 per row)."""
    mask = Image.new("RGB", (w, h), (0, 0, 0))
    draw = ImageDraw.Draw(mask)
    grow = 0 if painting == "paper" else 1
    for x, y, bw, bh in boxes:
        draw.rectangle([x, y, x + bw - grow, y + bh - grow], fill=(255, 0, 0))
    out = handle.processor.image_processor(mask, do_rescale=False, do_normalize=False, resample=Image.NEAREST,
                                           return_tensors="pt")
    red = out["pixel_values"][0, :, 0, :378, :378] > 127.5  # (tiles, 378, 378): what SigLIP sees
    cells = red.reshape(red.shape[0], 27, 14, 27, 14).any(4).any(2).flatten(1)  # (tiles, 729)
    packed, _ = handle.model.model.pack_image_features(
        [cells.float()[..., None]], torch.tensor([[h, w]]), image_newline=torch.tensor([-1.0]),
        vision_aspect_ratio=handle.model.config.vision_aspect_ratio)
    values = packed[0][:, 0]
    return ({int(i) for i in torch.nonzero(values > 0)}, {int(i) for i in torch.nonzero(values == -1)})


def test_related_and_newlines_equal_the_mask_through_the_processor_and_the_models_packing(onevision):
    rng = np.random.default_rng(0)
    resized = 0
    large = [(1600, 1200), (2000, 900), (1200, 1800), (2400, 2400)]  # resized by anyres_max_9
    for w, h in GQA_SIZES + sizes(10, seed=2, largest=900) + sizes(8, seed=3, largest=2500) + large:
        boxes = []
        for _ in range(int(rng.integers(1, 4))):
            bw, bh = int(rng.integers(1, max(2, w // 3))), int(rng.integers(1, max(2, h // 3)))
            boxes.append((int(rng.integers(0, w - bw + 1)), int(rng.integers(0, h - bh + 1)), bw, bh))
        layout = onevision.adapter.layout(onevision.processor, onevision.model, w, h)
        resized += "anyres_max_9" in layout.notes
        for painting in ("paper", "exact"):
            painted = [p[0] for p in (paint_box(b, painting, w, h) for b in boxes) if p is not None]
            related, newline = _packed_mask(onevision, w, h, boxes, painting)
            assert set(layout.related(painted)) == related, (w, h, boxes, painting)
            assert set(layout.group("newline", painted)) == newline, (w, h)
    assert resized >= len(large)  # the anyres_max_9 resize was exercised


def test_the_strip_siglip_never_sees_relates_to_no_token(onevision):
    layout = onevision.adapter.layout(onevision.processor, onevision.model, 384, 384)
    assert layout.related([(380, 100, 4, 4)]) == []  # px 380..383: past 27 x 14 = 378, in base and tile
    assert layout.related([(370, 100, 4, 4)])


def test_the_fixture_tests_something_and_fast_equals_exact(onevision):
    from flowcheck.measure.clean import clean_run
    from flowcheck.measure.configs import KnockoutConfig, engine_probabilities, plan_configs
    from flowcheck.measure.flows import flows_for
    base = select_samples(None, tasks=["ChooseAttr", "QueryAttr"], max_samples=1)
    a, b = (onevision.encode(place_on_canvas(s, 224, 224)) for s in base)
    fa, fb = a.image_features, b.image_features
    assert (fa - fb).abs().max() > 1e-3 * fa.abs().max()
    clean = clean_run(onevision, a)
    n = onevision.n_layers
    (p,) = engine_probabilities("exact")(onevision, a, clean, [KnockoutConfig("image->last", 0, range(n))])
    assert abs(p - clean.p_base) > 1e-4 * clean.p_base
    configs = plan_configs(flows_for(onevision.adapter.groups), n, 2)[::3]  # every flow, some windows
    fast = np.array(engine_probabilities("fast")(onevision, a, clean, configs))
    exact = np.array(engine_probabilities("exact")(onevision, a, clean, configs))
    assert np.abs(fast - exact).max() <= 1e-5


def test_the_onevision_template_is_the_checkpoints_own_chat_template(onevision):
    from flowcheck.models.prompts import PROMPTS, chat_prompt
    assert chat_prompt(onevision.processor).text == PROMPTS["llava_onevision"].text
