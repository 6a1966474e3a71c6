"""Strict route shaping (training only): the attention the removed edges would get with the
block lifted (``knockout(record_open=True)``) and the patch-local vision tower
(``vision_locality``): both read the model's own scores, with gradient, and neither leaks."""
import numpy as np
import pytest
import torch

from flowcheck.measure.attention import knockout
from flowcheck.models.prompts import llava15_prompt
from flowcheck.reference.shaping import ROUTES, group, shaped_blocks
from flowcheck.reference.vision_locality import local_patches, locality_penalty

pytestmark = pytest.mark.slow  # route-shaped training steps


@pytest.fixture(scope="module")
def batch(reference_handle, eval_samples):
    samples = [eval_samples[0], eval_samples[15]]
    enc = reference_handle.processor(images=[s.image for s in samples], return_tensors="pt",
                                     text=[llava15_prompt(s.question) for s in samples], padding=True)
    return enc, [reference_handle.encode(s).regions for s in samples]


def test_open_weights_are_the_same_scores_with_the_block_lifted(reference_handle, batch):
    """Layer 0 (same inputs): the unblocked forward's weights; every layer: renormalised over
    the edges left open, they are the blocked forward's weights; with gradient."""
    enc, regions = batch
    model = reference_handle.model
    blocks = shaped_blocks(enc["attention_mask"], regions, "paper", 12, None, share=1.0)
    with torch.no_grad(), knockout(model, {layer: torch.zeros_like(b) for layer, b in blocks.items()},
                                   record_weights=True) as plain:
        model(**enc)
    with knockout(model, blocks, record_weights=True, record_open=True) as ko:
        model(**enc)
    assert sorted(ko.open_weights) == list(range(12))
    assert torch.allclose(ko.open_weights[0], plain.weights[0], atol=1e-6)
    for layer in range(12):
        blocked = blocks[layer][:, None].expand_as(ko.weights[layer])  # (batch, heads, q, k)
        kept = ko.open_weights[layer].detach().masked_fill(blocked, 0)
        rows = kept.sum(-1, keepdim=True) > 0
        renormalised = torch.where(rows, kept / kept.sum(-1, keepdim=True).clamp(min=1e-30), 0)
        assert torch.allclose(renormalised, ko.weights[layer].masked_fill(~rows, 0), atol=1e-5)
        assert float(ko.weights[layer][blocked].abs().max()) == 0.0  # the forward itself: removed
        assert ko.open_weights[layer].requires_grad
    assert float(ko.open_weights[0].detach()[blocks[0][:, None].expand_as(ko.weights[0])].sum()) > 0


def test_record_open_needs_eager_weights():
    from flowcheck.models.handle import load_handle
    model = load_handle("reference", attn_implementation="sdpa").model
    with pytest.raises(ValueError, match="record_open needs attention weights.*'sdpa'"):
        with knockout(model, {}, record_open=True):
            pass


def _patch_features(model, pixels):
    """(images, patches, hidden): the vision layer LLaVA reads (-1), CLS dropped."""
    return model.model.vision_tower(pixels, output_hidden_states=True).hidden_states[-1][:, 1:]


def test_patch_local_tower_keeps_each_patch_to_itself(reference_handle, eval_samples):
    """Repainting one 16-px cell changes that cell's patch feature only, under the context;
    with the tower's normal attention every patch changes."""
    model, proc = reference_handle.model, reference_handle.processor
    pixels = proc.image_processor([eval_samples[0].image], return_tensors="pt")["pixel_values"]
    edited = pixels.clone()
    edited[..., :16, :16] = 0.5  # cell (0, 0) = patch 0
    with torch.no_grad():
        with local_patches(model) as opened:
            a, b = _patch_features(model, pixels), _patch_features(model, edited)
        plain_a, plain_b = _patch_features(model, pixels), _patch_features(model, edited)
    changed = (a - b).abs().amax(-1)[0]  # (patches,)
    assert float(changed[0]) > 1e-3 and float(changed[1:].max()) < 1e-5
    assert float((plain_a - plain_b).abs().amax(-1)[0][1:].min()) > 1e-5  # normal tower mixes
    assert len(opened) == 2 * len(model.model.vision_tower.encoder.layers)  # two images through the tower
    assert torch.allclose(opened[0].sum(-1), torch.ones(()), atol=1e-5)
    assert model.config.vision_config._attn_implementation != "flowcheck_vision_local"  # restored


def test_locality_penalty_is_the_mass_outside_self():
    seq = 17
    self_only = [torch.eye(seq).expand(2, 4, seq, seq)]
    assert float(locality_penalty(self_only, 10.0)) == 0.0
    uniform = torch.full((2, 4, seq, seq), 1.0 / seq, requires_grad=True)
    pen = locality_penalty([uniform], 10.0)
    assert float(pen.detach()) == pytest.approx(10.0 * (1 - 1 / seq))
    pen.backward()
    assert float(uniform.grad[:, :, 0].abs().sum()) == 0.0  # CLS is free
    assert float(locality_penalty([], 10.0)) == 0.0


def test_template_after_image_is_the_template_that_can_hold_the_image(batch):
    _, regions = batch
    reg = regions[0]
    after = group(reg, "template_after_image")
    assert 0 not in after and after and min(after) > min(reg.image)
    assert set(after) < set(group(reg, "template"))


def test_open_penalty_counts_rows_whose_edges_are_removed(reference_handle, eval_samples):
    """Every row shaped (share 1.0): the forward's own weights are 0 on the removed edges, the
    open weights are not, so the strict plan's penalty is positive; the loss has a gradient
    into the attention projections through it."""
    from flowcheck.reference.train import _text_losses
    s = eval_samples[0]
    model, proc = reference_handle.model, reference_handle.processor
    text = f"{llava15_prompt(s.question)} {s.answer.capitalize()}"
    regions = [reference_handle.encode(s).regions]
    model.zero_grad()
    _, _, _, penalty, _ = _text_losses(model, proc, [text], [s.task], [s.image],
                                    (regions, "paper", np.random.default_rng(0)))
    assert float(penalty.detach()) > 0
    penalty.backward()
    q = model.model.language_model.layers[3].self_attn.q_proj.weight.grad
    v = model.model.vision_tower.encoder.layers[0].self_attn.q_proj.weight.grad
    assert q is not None and float(q.abs().sum()) > 0
    assert v is not None and float(v.abs().sum()) > 0
    model.zero_grad()


def test_object_targets_are_the_named_objects_words_and_attributes(reference_handle, eval_samples):
    from flowcheck.data.scenes import COLORS
    from flowcheck.reference.shaping import OBJECT_ATTRIBUTES, object_targets
    vocab = reference_handle.tokenizer.get_vocab()
    seen = 0
    for s in eval_samples:
        enc = reference_handle.encode(s)
        ids = enc.input_ids[0].tolist()
        for pos, labels in object_targets(s, enc, vocab):
            seen += 1
            assert pos in enc.regions.question
            name = reference_handle.tokenizer.convert_ids_to_tokens(ids[pos])
            obj = next(o for o in s.scene.objects if o.shape == name)
            assert set(labels) == set(OBJECT_ATTRIBUTES)
            assert tuple(COLORS)[labels["color"]] == obj.color
    assert seen >= len(eval_samples) // 2


def test_object_loss_reads_the_object_layer_at_the_named_words(reference_handle, eval_samples):
    """The object term is the probes' cross-entropy on ``object_layer``'s output: it has a
    gradient into that layer and below, none into the layers above it."""
    from flowcheck.reference.shaping import OBJECT_ATTRIBUTES, object_targets
    from flowcheck.reference.train import _text_losses
    model, proc = reference_handle.model, reference_handle.processor
    s = next(x for x in eval_samples if object_targets(x, reference_handle.encode(x),
                                                       proc.tokenizer.get_vocab()))
    enc = reference_handle.encode(s)
    probes = torch.nn.ModuleDict({f"q_{k}": torch.nn.Linear(128, 6) for k in OBJECT_ATTRIBUTES})
    targets = [object_targets(s, enc, proc.tokenizer.get_vocab())]
    text = f"{llava15_prompt(s.question)} {s.answer.capitalize()}"
    model.zero_grad()
    out = _text_losses(model, proc, [text], [s.task], [s.image],
                       ([enc.regions], "paper", np.random.default_rng(0)), (targets, probes))
    object_loss = out[4]
    assert float(object_loss.detach()) > 0
    object_loss.backward()
    layers = model.model.language_model.layers
    layer = ROUTES["paper"].object_layer
    assert float(layers[layer].mlp.down_proj.weight.grad.abs().sum()) > 0
    assert layers[layer + 1].mlp.down_proj.weight.grad is None or \
        float(layers[layer + 1].mlp.down_proj.weight.grad.abs().sum()) == 0
    assert probes["q_color"].weight.grad is not None
    model.zero_grad()
    none = _text_losses(model, proc, [text], [s.task], [s.image],
                        ([enc.regions], "paper", np.random.default_rng(0)), ([None], probes))[4]
    assert float(none) == 0.0


def test_penalty_weight_ramps_from_the_start_weight_in_the_second_half():
    from dataclasses import replace
    plan = replace(ROUTES["direct"], attention_penalty=100.0, penalty_start=10.0)
    weights = [plan.penalty_weight(s, 1000) for s in (0, 499, 500, 625, 750, 999)]
    assert weights == pytest.approx([10, 10, 10, 55, 100, 100])
    assert replace(plan, penalty_start=None).penalty_weight(0, 1000) == 100.0


def test_the_step_weight_overrides_the_plans_in_the_penalty(batch):
    from flowcheck.reference.shaping import attention_mass_penalty
    enc, regions = batch
    mask = enc["attention_mask"]
    b, seq = mask.shape
    uniform = [torch.full((b, 4, seq, seq), 1.0 / seq) for _ in range(12)]
    plan = ROUTES["paper"]
    base = float(attention_mass_penalty(uniform, mask, regions, plan))
    assert float(attention_mass_penalty(uniform, mask, regions, plan, 2 * plan.attention_penalty)) \
        == pytest.approx(2 * base)


def _choosecat_with_false_option_present(eval_samples):
    return [s for s in eval_samples if s.task == "ChooseCat"
            and s.scene.find(s.row["false option"]) is not None]


def test_named_regions_add_the_false_options_patches(reference_handle, eval_samples):
    """ChooseCat's annotation holds the true option only: with ``related='named'`` the false
    option's patches (when it is in the scene) move from 'other' to 'related', so the plan no
    longer tells the options apart; every image patch stays in exactly one of the two."""
    from flowcheck.reference.shaping import named_regions, named_shapes
    samples = _choosecat_with_false_option_present(eval_samples)
    assert samples
    for s in samples:
        enc = reference_handle.encode(s)
        layout = reference_handle.layout(s)
        named = named_regions(s, enc.regions, layout)
        false = s.scene.find(s.row["false option"])
        grid = layout.related([false.bbox])
        false_patches = {enc.regions.image[p] for p in grid}
        assert false_patches and false_patches <= set(named.related)
        assert false_patches - set(enc.regions.related) <= set(enc.regions.other)
        assert set(enc.regions.related) <= set(named.related)
        assert sorted(named.related + named.other) == sorted(enc.regions.related + enc.regions.other)
        assert not set(named.related) & set(named.other)
        assert set(named_shapes(s)) == {s.row["true option"], s.row["false option"]}
    # annotated objects only: nothing changes where the question names nothing else
    s = next(x for x in eval_samples if x.task == "QueryAttr")
    enc = reference_handle.encode(s)
    assert named_regions(s, enc.regions, reference_handle.layout(s)) == enc.regions


def test_named_object_targets_include_the_false_option(reference_handle, eval_samples):
    from flowcheck.reference.shaping import object_targets
    vocab = reference_handle.tokenizer.get_vocab()
    s = _choosecat_with_false_option_present(eval_samples)[0]
    enc = reference_handle.encode(s)
    tok = reference_handle.tokenizer.convert_ids_to_tokens
    words = lambda targets: {tok(enc.input_ids[0, p].item()) for p, _ in targets}  # noqa: E731
    assert words(object_targets(s, enc, vocab)) == {s.row["true option"]}
    assert words(object_targets(s, enc, vocab, named=True)) == {s.row["true option"],
                                                               s.row["false option"]}
