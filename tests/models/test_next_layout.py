"""LLaVA-NeXT's anyres layout against transformers' own processor and packing: token counts of
the paper's image sizes, the tie-break difference to the original code, the token groups."""
import pytest

from flowcheck.models.adapters.llava_next import anyres_layout, best_canvas
from flowcheck.models.fixtures.checkpoints import NEXT_PINPOINTS

# (W, H) -> image tokens, as transformers counts them (and the paper's GQA images are sized)
PAPER_COUNTS = {(500, 375): 2340, (500, 333): 1464, (375, 500): 2352, (500, 500): 2928,
                (640, 480): 2340, (1280, 720): 1948, (336, 336): 1176}


@pytest.mark.parametrize("size, tokens", PAPER_COUNTS.items())
def test_token_counts_of_the_paper_sizes(size, tokens):
    assert anyres_layout(*size, NEXT_PINPOINTS, 336, 14).n_tokens == tokens


@pytest.mark.parametrize("size", [(500, 375), (500, 333), (375, 500), (320, 240), (240, 166),
                                  (64, 64), (1000, 200), (200, 1000), (352, 748), (337, 335)])
def test_counts_equal_the_processor_and_the_model_packing(size):
    """transformers' processor count, and the length pack_image_features gives, for any size."""
    import torch
    from transformers.image_processing_utils import select_best_resolution
    from transformers.models.llava_next.modeling_llava_next import LlavaNextModel

    from flowcheck.models.fixtures.checkpoints import CHECKPOINTS, build_config, build_processor
    shape = CHECKPOINTS["llava-v1.6-vicuna-7b"]
    processor = build_processor(shape)
    w, h = size
    layout = anyres_layout(w, h, NEXT_PINPOINTS, 336, 14)
    assert best_canvas(h, w, NEXT_PINPOINTS) == tuple(select_best_resolution((h, w), NEXT_PINPOINTS))
    n_processor = processor._get_number_of_features(h, w, 336, 336) - 1  # minus CLS ("default")
    assert layout.n_tokens == n_processor
    fake = type("M", (), {"config": build_config(shape, processor.tokenizer)})()
    n_tiles = (layout.notes["canvas"][0] // 336) * (layout.notes["canvas"][1] // 336)
    feats = [torch.zeros(1 + n_tiles, 576, 2)]
    packed, _ = LlavaNextModel.pack_image_features(fake, feats, torch.tensor([[h, w]]), "default",
                                                   image_newline=torch.ones(2))
    assert packed[0].shape[0] == layout.n_tokens
    newline = [o for o in range(layout.n_tokens) if packed[0][o, 0] == 1]
    assert newline == layout.uncovered()


def test_ties_between_pinpoints_are_recorded_not_hidden():
    """320x240 fits every pinpoint whole: transformers takes (336, 672) (h, w) first, the original
    code reads the list as (w, h) and takes 672x336; the sample gets another token count."""
    hf = anyres_layout(320, 240, NEXT_PINPOINTS, 336, 14)
    original = anyres_layout(320, 240, NEXT_PINPOINTS, 336, 14, order="original")
    assert (hf.n_tokens, original.n_tokens) == (1368, 1026)
    assert anyres_layout(500, 375, NEXT_PINPOINTS, 336, 14, order="original").n_tokens == 2340


def test_encode_records_the_tie_and_the_groups(eval_samples):
    from flowcheck.data.dataset import place_on_canvas
    from flowcheck.models.fixtures.checkpoints import build_handle
    h = build_handle("llava-v1.6-vicuna-7b", text_layers=2, vision_layers=1)
    s = eval_samples[0]
    tie = h.encode(place_on_canvas(s, 320, 240, 10, 20))
    assert tie.notes["original_code_differs"]["original"]["tokens"] == 1026
    enc = h.encode(place_on_canvas(s, 500, 375, 100, 50))
    assert "original_code_differs" not in enc.notes
    r = enc.regions
    assert len(r.image) == 2340 and len(r.extra["base"]) == 576 and len(r.extra["newline"]) == 36
    assert set(r.extra["newline"]).isdisjoint(set(r.related) | set(r.other))
    assert sorted(r.related + r.other + r.extra["newline"]) == sorted(r.image)
    assert set(r.extra["related_hd"]) == set(r.related) & set(r.extra["hd"])
    assert set(r.related) & set(r.extra["base"]) and r.extra["related_hd"]
    assert enc.inputs["pixel_values"].shape[1] == 5  # base + 2 x 2 tiles of the 672 x 672 canvas


@pytest.mark.parametrize("name", ["llava-1.5-7b", "llava-v1.6-vicuna-7b", "llama3-llava-next-8b"])
def test_prompts_have_one_bos_and_the_question_where_the_official_code_puts_it(name, eval_samples):
    from flowcheck.models.fixtures.checkpoints import build_handle
    h = build_handle(name, text_layers=1, vision_layers=1)
    s = eval_samples[0]
    enc = h.encode(s)
    ids = enc.input_ids[0].tolist()
    tok = h.tokenizer
    assert ids.count(tok.bos_token_id) == 1 and ids[0] == tok.bos_token_id
    text = tok.decode(ids[:min(enc.regions.image)])  # everything before the image
    q = enc.regions.question
    assert "".join(tok.decode(ids[q[0]:q[-1] + 1]).split()) == "".join(s.question.split())
    tail = tok.decode(ids[q[-1] + 1:])
    if name.startswith("llama3"):
        assert text.startswith("<|begin_of_text|><|start_header_id|>system<|end_header_id|>")
        assert tail.endswith("<|start_header_id|>assistant<|end_header_id|>\n\n \n")
    else:
        assert "A chat between a curious user" in text and text.rstrip().endswith("USER:")
        assert tail.endswith("ASSISTANT:")


def test_the_checkpoints_crop_can_cut_the_object_off_and_the_paper_padding_keeps_it(eval_samples):
    """llava-hf's processor resizes the short side and centre-crops: an object at the left edge
    of a wide image leaves the grid (counted in the run's layout notes); padding keeps it."""
    from flowcheck.data.dataset import place_on_canvas
    from flowcheck.models.adapters.llava import LlavaAdapter
    from flowcheck.models.fixtures.checkpoints import build_handle
    from flowcheck.models.handle import ModelHandle
    paper = build_handle("llava-1.5-7b", text_layers=1, vision_layers=1)
    crop = ModelHandle(paper.model, paper.processor, adapter=LlavaAdapter(preprocess="checkpoint"))
    s = next(s for s in eval_samples if len(s.related_boxes()) == 1)
    wide = place_on_canvas(s, 400, 64, left=0)  # the scene at the far left of a 400 x 64 image
    assert crop.encode(wide).notes.get("object_cut_off") is True
    enc = paper.encode(wide)
    assert "object_cut_off" not in enc.notes and enc.regions.related


def test_the_hd_placement_is_the_processors_for_every_size_from_100_to_1000_px():
    """Every W x H with 100 <= W, H <= 1000 (811,801 sizes): the canvas, the resized size and the
    paste offset equal transformers' own (select_best_resolution, get_patch_output_size, the
    centred divmod padding). Computing ceil(H * 672 / W) instead of ceil(H * (672 / W)) differs
    at 572 of them, 500 x 375 and 375 x 500 (a third of the paper's rows) among them."""
    import types

    from transformers.image_processing_utils import get_patch_output_size, select_best_resolution
    from transformers.image_utils import ChannelDimension

    from flowcheck.models.adapters.llava_next import hd_placement
    wrong = []
    for w in range(100, 1001):
        for h in range(100, 1001):
            canvas = tuple(select_best_resolution((h, w), NEXT_PINPOINTS))
            assert best_canvas(h, w, NEXT_PINPOINTS) == canvas, (w, h)
            nh, nw = get_patch_output_size(types.SimpleNamespace(shape=(h, w, 3)), canvas,
                                           ChannelDimension.LAST)
            if hd_placement(w, h, *canvas) != (nh, nw, (canvas[0] - nh) // 2, (canvas[1] - nw) // 2):
                wrong.append((w, h))
    assert not wrong, f"{len(wrong)} sizes placed otherwise than the processor does: {wrong[:5]}"
    assert hd_placement(500, 375, 672, 672)[:2] == (505, 672)


@pytest.mark.parametrize("family", ["llava_next", "llava_onevision"])
def test_a_processor_saved_for_other_pinpoints_is_refused(family):
    """The layout reads the processor's canvases; a processor whose pinpoints are not the
    model's would place the tokens elsewhere: both anyres adapters refuse it, naming why."""
    from types import SimpleNamespace

    from flowcheck.errors import ModelError
    from flowcheck.models.adapters.base import ADAPTERS
    (cls,) = [c for c in ADAPTERS.values() if c.family == family]
    adapter = cls()
    processor = SimpleNamespace(image_processor=SimpleNamespace(image_grid_pinpoints=[[384, 384]]))
    vision = SimpleNamespace(image_size=384, patch_size=14)
    model = SimpleNamespace(config=SimpleNamespace(image_grid_pinpoints=[[336, 672]], vision_config=vision,
                                                   vision_aspect_ratio="anyres_max_9"))
    with pytest.raises(ModelError, match="image_grid_pinpoints differ from the model config's"):
        adapter.layout(processor, model, 500, 375)
