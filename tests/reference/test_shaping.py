"""Route shaping: each route plan removes exactly its edges in exactly its layers, at each
row's left-padding offset, for the planned share of rows; unshaped rows run the plain forward."""
import numpy as np
import pytest
import torch

from flowcheck.measure.attention import knockout
from flowcheck.models.prompts import llava15_prompt
from flowcheck.reference.shaping import ROUTES, check_route, group, route_edges, shaped_blocks

pytestmark = pytest.mark.slow  # route-shaped training steps


@pytest.fixture(scope="module")
def batch(reference_handle, eval_samples):
    samples = [eval_samples[0], eval_samples[15]]  # different prompt lengths -> left padding
    proc = reference_handle.processor
    enc = proc(images=[s.image for s in samples], text=[llava15_prompt(s.question) for s in samples],
               return_tensors="pt", padding=True)
    regions = [reference_handle.encode(s).regions for s in samples]
    return enc, regions


def edge(edges, layer, dst, src) -> bool:
    """Every (dst, src) pair of the two groups is blocked in ``layer``; False if none is."""
    if layer not in edges:
        return False
    cells = edges[layer][torch.tensor(dst)[:, None], torch.tensor(src)[None, :]]
    assert bool(cells.all()) or not bool(cells.any()), "a group pair is only partly blocked"
    return bool(cells.all())


def test_template_is_the_text_outside_question_and_last(batch):
    _, regions = batch
    reg = regions[0]
    template = set(group(reg, "template"))
    assert template and 0 in template  # BOS
    assert not template & (set(reg.image) | set(reg.question) | set(reg.last))
    assert len(template) + len(reg.image) + len(reg.question) + len(reg.last) == reg.seq_len


def test_paper_route_bands(batch):
    _, regions = batch
    reg = regions[0]
    e = route_edges(reg, ROUTES["paper"], 12)
    q, last, img = reg.question, reg.last, reg.image
    rel, oth, tmpl = reg.related, reg.other, group(reg, "template")
    after = group(reg, "template_after_image")
    assert all(edge(e, layer, last, img) and edge(e, layer, tmpl, img) and edge(e, layer, last, after)
               for layer in range(12))
    assert not any(edge(e, layer, last, [0]) for layer in range(12))  # BOS -> last open: a sink
    assert [layer for layer in range(12) if not edge(e, layer, q, oth)] == [0, 1, 2]  # stage 1: general
    assert [layer for layer in range(12) if not edge(e, layer, q, rel)] == [5, 6]  # stage 2: the object
    assert [layer for layer in range(12) if not edge(e, layer, last, q)] == [6, 7, 8, 9, 10]
    assert all(edge(e, layer, oth, rel) for layer in range(12))  # no relay of the object's patches
    assert not any(edge(e, layer, q, q) or edge(e, layer, rel, rel) or edge(e, layer, oth, oth)
                   for layer in range(12))
    plan = ROUTES["paper"]
    assert plan.lens_layer == 9 and plan.object_layer == 6 and plan.share == 1.0
    assert plan.open_penalty and plan.vision_locality > 0


def test_direct_route_bands(batch):
    _, regions = batch
    reg = regions[0]
    e = route_edges(reg, ROUTES["direct"], 12)
    assert all(edge(e, layer, reg.question, reg.image) for layer in range(12))
    assert not any(edge(e, layer, reg.last, reg.image) for layer in range(12))  # the route it must use
    assert [layer for layer in range(12) if not edge(e, layer, reg.last, reg.question)] == [0, 1, 2, 3]
    assert ROUTES["direct"].lens_layer is None


@pytest.mark.parametrize("answer", ["", " Red </s>"], ids=["prompt", "prompt+answer"])
def test_blocks_sit_at_each_rows_padding_offset(reference_handle, eval_samples, answer):
    """Placed by the padding count, also when the answer follows the prompt (training)."""
    samples = [eval_samples[0], eval_samples[15]]
    enc = reference_handle.processor(
        images=[s.image for s in samples], return_tensors="pt", padding=True,
        text=[llava15_prompt(s.question) + answer for s in samples])
    regions = [reference_handle.encode(s).regions for s in samples]
    seq = enc["input_ids"].shape[1]
    blocks = shaped_blocks(enc["attention_mask"], regions, "direct", 12, np.random.default_rng(0))
    for i, reg in enumerate(regions):
        pad = int((enc["attention_mask"][i] == 0).sum())
        if answer:
            assert pad + reg.seq_len < seq  # answer tokens after the prompt
        want = route_edges(reg, ROUTES["direct"], 12)
        shaped = bool(blocks[0][i].any())
        for layer in range(12):
            expected = torch.zeros(seq, seq, dtype=torch.bool)
            if shaped:
                expected[pad:pad + reg.seq_len, pad:pad + reg.seq_len] = want[layer]
            assert torch.equal(blocks[layer][i], expected)


def test_the_planned_share_of_rows_is_shaped(batch):
    _, regions = batch
    rows = [regions[0]] * 400 + [None] * 100
    mask = torch.ones(len(rows), regions[0].seq_len, dtype=torch.long)
    blocks = shaped_blocks(mask, rows, "direct", 12, np.random.default_rng(3))
    shaped = blocks[0].flatten(1).any(1)  # (rows,)
    assert not shaped[400:].any()  # caption / text rows are never shaped
    assert abs(float(shaped[:400].float().mean()) - ROUTES["direct"].share) < 0.05


def test_unshaped_rows_run_the_plain_forward_and_shaped_rows_do_not(reference_handle, batch):
    enc, regions = batch
    model = reference_handle.model
    mask = enc["attention_mask"]
    with torch.no_grad():
        ref = model(**enc).logits[:, -1]
        with knockout(model, shaped_blocks(mask, [None, None], "paper", 12, np.random.default_rng(0))):
            plain = model(**enc).logits[:, -1]
        blocks = shaped_blocks(mask, regions, "paper", 12, None, share=1.0)  # every row
        assert all(bool(blocks[0][i].any()) for i in range(2))
        with knockout(model, blocks):
            shaped = model(**enc).logits[:, -1]
    assert torch.allclose(ref, plain, atol=1e-5)
    assert not torch.allclose(ref, shaped, atol=1e-3)


def test_routes_and_bad_input(batch):
    assert set(ROUTES) == {"paper", "direct"} and check_route(None) is None
    with pytest.raises(ValueError, match="unknown route 'papr'"):
        check_route("papr")
    with pytest.raises(ValueError, match="written for 12-layer .* this one has 32"):
        route_edges(batch[1][0], ROUTES["paper"], 32)
    short = torch.ones(1, 5, dtype=torch.long)
    with pytest.raises(ValueError, match="does not fit a batch of 5 positions"):
        shaped_blocks(short, [batch[1][0]], "direct", 12, np.random.default_rng(0))


def test_attention_mass_penalty_is_the_mass_left_on_the_plans_edges(batch):
    from flowcheck.reference.shaping import attention_mass_penalty
    enc, regions = batch
    mask = enc["attention_mask"]
    b, seq = mask.shape
    plan = ROUTES["paper"]
    self_only = [torch.eye(seq).expand(b, 4, seq, seq).clone().requires_grad_() for _ in range(12)]
    assert float(attention_mass_penalty(self_only, mask, regions, plan).detach()) == 0.0
    uniform = [torch.full((b, 4, seq, seq), 1.0 / seq, requires_grad=True) for _ in range(12)]
    pen = attention_mass_penalty(uniform, mask, regions, plan)
    assert float(pen.detach()) > 0
    pen.backward()
    assert uniform[0].grad is not None and float(uniform[0].grad.abs().sum()) > 0
    assert float(attention_mass_penalty(uniform, mask, [None, None], plan)) == 0.0  # unshaped rows

