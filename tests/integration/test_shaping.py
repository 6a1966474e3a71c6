"""Route shaping masks: exactly the route's edges are blocked, at the row's padding offset,
and the stock forward honours them (4D masks)."""
import numpy as np
import pytest
import torch

from flowcheck.knockout.mask import blocked_edges
from flowcheck.models.prompts import llava15_prompt
from flowcheck.models.reference.shaping import ROUTES, check_route, shaped_mask


@pytest.fixture(scope="module")
def batch(reference_handle, eval_samples):
    samples = [eval_samples[0], eval_samples[15]]  # different prompt lengths -> left padding
    proc = reference_handle.processor
    enc = proc(images=[s.image for s in samples], text=[llava15_prompt(s.question) for s in samples],
               return_tensors="pt", padding=True)
    regions = [reference_handle.encode(s).regions for s in samples]
    return enc, regions


def test_exactly_the_route_edges_are_blocked_at_the_padding_offset(batch):
    enc, regions = batch
    mask = shaped_mask(enc["attention_mask"], regions, "direct", np.random.default_rng(0))
    blocked = mask[:, 0] < 0  # (batch, seq, seq)
    seq = enc["input_ids"].shape[1]
    causal_or_pad = ~torch.tril(torch.ones(seq, seq, dtype=torch.bool))[None] | \
        ~enc["attention_mask"].bool()[:, None, :]
    for i, reg in enumerate(regions):
        pad = seq - reg.seq_len
        expected = torch.zeros(seq, seq, dtype=torch.bool)
        expected[pad:, pad:] = blocked_edges(reg, "image->question")
        extra = blocked[i] & ~causal_or_pad[i]
        assert torch.equal(extra, expected & ~causal_or_pad[i])
    assert pad_rows_attend_somewhere(mask)


def pad_rows_attend_somewhere(mask):
    return bool(((mask[:, 0] == 0).sum(-1) > 0).all())


def test_unshaped_rows_get_the_plain_causal_mask_and_the_forward_matches(reference_handle, batch):
    enc, regions = batch
    mask = shaped_mask(enc["attention_mask"], [None, None], "paper", np.random.default_rng(0))
    with torch.no_grad():
        ref = reference_handle.model(**enc).logits[:, -1]
        got = reference_handle.model(input_ids=enc["input_ids"], pixel_values=enc["pixel_values"],
                                     attention_mask=mask).logits[:, -1]
    assert torch.allclose(ref, got, atol=1e-5)
    shaped = shaped_mask(enc["attention_mask"], regions, "paper", np.random.default_rng(1))
    with torch.no_grad():
        ko = reference_handle.model(input_ids=enc["input_ids"], pixel_values=enc["pixel_values"],
                                    attention_mask=shaped).logits[:, -1]
    assert not torch.allclose(ref, ko, atol=1e-3)  # blocking image->last changes the answer logits


def test_routes_and_bad_names():
    assert set(ROUTES) == {"paper", "direct"} and check_route(None) is None
    with pytest.raises(ValueError, match="unknown route 'papr'"):
        check_route("papr")
