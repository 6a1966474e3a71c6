"""Qwen2-VL, Qwen2.5-VL and Qwen3-VL (the same processor kind, layout rule and positions
call; every test runs on the three fixtures): dynamic resolution, 2 x 2 merged patches (28-px
cells; 32-px for Qwen3-VL), 3-D M-RoPE positions; Qwen3-VL's DeepStack features.

- fast == exact on the Qwen2-VL fixture (the fast engine takes the model's own M-RoPE
  positions); and a guard: with positions forced 1-D (what a LLaVA-style adapter would
  give) the fast engine no longer equals the exact one, so the property above can fail;
- the related rule against the paper's mask method through the real Qwen2-VL image
  processor (a red box mask resized and cut into 14-px patches, 2 x 2 per token);
- the tokens: image tokens between <|vision_start|> and <|vision_end|>, the question found
  through the chat template, ``last`` the final prompt position.
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
from flowcheck.measure.configs import engine_probabilities, plan_configs
from flowcheck.measure.flows import CORE_FLOWS
from flowcheck.measure.metrics import relative_change
from flowcheck.models.fixtures.checkpoints import build_handle


@pytest.fixture(scope="module", params=["qwen2-vl-2b", "qwen2.5-vl-3b", "qwen3-vl-2b"])
def qwen(request):
    """The fixture at 6 of its layers (CPU time), q/k weights scaled so that attention,
    and with it the rotary angle, matters (random init gives nearly uniform attention)."""
    handle = build_handle(request.param, text_layers=6, vision_layers=2)
    with torch.no_grad():
        for layer in handle.layers:
            layer.self_attn.q_proj.weight.mul_(8)
            layer.self_attn.k_proj.weight.mul_(8)
    return handle


def samples():
    base = select_samples(None, tasks=["ChooseAttr", "QueryAttr"], max_samples=1)
    return [place_on_canvas(base[0], 300, 200), place_on_canvas(base[1], 500, 375)]


def changes(handle, enc, engine, configs):
    clean = clean_run(handle, enc)
    p = engine_probabilities(engine)(handle, enc, clean, configs)
    return np.array(p), np.array([relative_change(x, clean.p_base) for x in p])


def deepstack_layers(handle) -> int:
    """How many first text layers get DeepStack features added after them (0 before Qwen3-VL)."""
    return len(getattr(handle.model.config.vision_config, "deepstack_visual_indexes", None) or ())


def test_fast_equals_exact_with_the_models_own_3d_positions(qwen):
    configs = plan_configs(CORE_FLOWS, qwen.n_layers, 3)
    for s in samples():
        enc = qwen.encode(s)
        assert enc.position_ids.shape == (3, 1, enc.seq_len)
        assert not torch.equal(enc.position_ids[0], enc.position_ids[2])  # rows and columns differ
        (pf, rf), (pe, re_) = changes(qwen, enc, "fast", configs), changes(qwen, enc, "exact", configs)
        assert np.abs(pf - pe).max() <= 1e-5 and np.abs(rf - re_).max() <= NOISE_PP


def test_deepstack_needs_no_re_adding_because_image_rows_come_from_the_clean_run(qwen):
    """Qwen3-VL adds DeepStack features at image positions after its first layers; the fast
    engine recomputes only rows from the first destination (after the image) on, so windows
    inside the DeepStack layers agree with the exact engine too; and the engine refuses a
    sample whose image would be recomputed (an image after a destination)."""
    n = deepstack_layers(qwen)
    if not n:
        assert not qwen.adapter.adds_at_image_positions
        return
    assert qwen.adapter.adds_at_image_positions
    enc = qwen.encode(samples()[1])
    early = [c for c in plan_configs(CORE_FLOWS, qwen.n_layers, 2) if c.layers[0] < n]
    (pf, _), (pe, _) = changes(qwen, enc, "fast", early), changes(qwen, enc, "exact", early)
    assert early and np.abs(pf - pe).max() <= 1e-5
    before = dataclasses.replace(enc, regions=dataclasses.replace(enc.regions, question=(1, 2)))
    from flowcheck.errors import ModelError
    with pytest.raises(ModelError, match="would recompute image positions"):
        changes(qwen, before, "fast", plan_configs(("image->question",), qwen.n_layers, 2)[:1])


def test_positions_forced_1d_break_fast_equals_exact(qwen):
    """The guard: a wrong rotary angle raises no error, only moves the numbers."""
    configs = plan_configs(CORE_FLOWS, qwen.n_layers, 3)
    enc = qwen.encode(samples()[0])
    flat = dataclasses.replace(enc, position_ids=torch.arange(enc.seq_len)[None])  # 1-D: wrong
    _, exact = changes(qwen, enc, "exact", configs)  # the model computes its own positions
    _, fast_1d = changes(qwen, flat, "fast", configs)
    assert np.abs(fast_1d - exact).max() > 100 * NOISE_PP


def test_tokens_image_between_vision_markers_question_and_last(qwen):
    s = samples()[1]
    enc = qwen.encode(s)
    ids = enc.input_ids[0].tolist()
    tok = qwen.tokenizer
    image = list(enc.regions.image)
    assert ids[image[0] - 1] == tok.convert_tokens_to_ids("<|vision_start|>")
    assert ids[image[-1] + 1] == tok.convert_tokens_to_ids("<|vision_end|>")
    assert image == list(range(image[0], image[-1] + 1))
    cell = qwen.processor.image_processor.patch_size * 2
    assert len(image) == int(500 / cell + 0.5) * int(375 / cell + 0.5)  # 18 x 13 (28 px), 16 x 12 (32 px)
    assert tok.decode([ids[i] for i in enc.regions.question]).strip() == s.question
    assert enc.regions.last == (len(ids) - 1,)
    assert tok.decode(ids[-3:]) == "<|im_start|>assistant\n"  # last predicts the first answer token
    assert qwen.token_layout(s) == (enc.seq_len, len(image), list(enc.regions.question))


def _red_tokens(processor, w, h, boxes, painting="exact") -> set[int]:
    """The mask method: the boxes drawn red on black, through the image processor with
    nearest-neighbour resampling, no rescale or normalisation; a token is related when one
    of its 2 x 2 patches holds a red pixel (the processor's own patch order)."""
    mask = Image.new("RGB", (w, h), (0, 0, 0))
    draw = ImageDraw.Draw(mask)
    grow = 0 if painting == "paper" else 1  # paper: the official code's inclusive rectangle
    for x, y, bw, bh in boxes:
        draw.rectangle([x, y, x + bw - grow, y + bh - grow], fill=(255, 0, 0))
    ip = processor.image_processor
    out = ip(mask, do_rescale=False, do_normalize=False, resample=Image.NEAREST, return_tensors="pt")
    pv = out["pixel_values"]  # (patches, C * T * 14 * 14), 4 consecutive patches per token
    merge = ip.merge_size ** 2
    patches = pv.reshape(pv.shape[0] // merge, merge, 3, ip.temporal_patch_size, ip.patch_size, ip.patch_size)
    red = (patches[:, :, 0] > 127.5).flatten(1).any(1)  # (tokens,)
    return {int(i) for i in torch.nonzero(red)}


def test_related_rule_equals_the_mask_method_through_the_qwen_processor(qwen):
    rng = np.random.default_rng(0)
    sizes = [(500, 375), (640, 480), (300, 200), (333, 500), (64, 64), (1000, 90)]
    sizes += [(int(rng.integers(60, 900)), int(rng.integers(60, 900))) for _ in range(24)]
    for w, h in sizes:
        boxes = []
        for _ in range(int(rng.integers(1, 4))):
            bw, bh = int(rng.integers(1, max(2, w // 3))), int(rng.integers(1, max(2, h // 3)))
            boxes.append((int(rng.integers(0, w - bw + 1)), int(rng.integers(0, h - bh + 1)), bw, bh))
        layout = qwen.adapter.layout(qwen.processor, qwen.model, w, h)
        for painting in ("paper", "exact"):
            painted = [p[0] for p in (paint_box(b, painting, w, h) for b in boxes) if p is not None]
            rule = set(layout.related(painted))
            assert rule == _red_tokens(qwen.processor, w, h, boxes, painting), (w, h, boxes, painting)


def test_the_qwen2_tokenizer_is_of_the_qwen2_kind():
    from flowcheck.models.fixtures.tokenizers import QWEN2_SPECIALS, train_qwen2_tokenizer
    tok = train_qwen2_tokenizer()
    base = len(tok) - len(QWEN2_SPECIALS)
    assert [tok.convert_tokens_to_ids(t) for t in QWEN2_SPECIALS] == list(range(base, len(tok)))
    ids = tok("Is the circle red?")["input_ids"]
    assert tok.convert_tokens_to_ids("<|endoftext|>") not in ids and ids[0] < base  # no BOS added
    assert tok.image_token == "<|image_pad|>" and tok.decode(ids) == "Is the circle red?"
    assert tok.tokenize("12")== ["1", "2"]  # Qwen2 splits digits one by one
