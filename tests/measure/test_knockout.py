"""Knockout semantics, self-checks and clear errors (reference model + tiny random model)."""
import pytest
import torch

from flowcheck.data.dataset import Sample
from flowcheck.measure.attention import check_supported, knockout
from flowcheck.measure.clean import clean_run
from flowcheck.measure.configs import KnockoutConfig, plan_configs
from flowcheck.measure.exact import exact_probabilities
from flowcheck.measure.flows import CORE_FLOWS, parse_flow
from flowcheck.measure.mask import blocked_edges
from flowcheck.measure.selfcheck import SelfCheckError, run_self_checks


def test_blocking_image_to_last_everywhere_kills_the_answer(reference_handle, eval_samples):
    h = reference_handle
    changes = []
    for s in eval_samples[::3]:
        enc = h.encode(s)
        clean = clean_run(h, enc, s.answer)
        [p] = exact_probabilities(h, enc, clean, [KnockoutConfig("image->last", 0, range(h.n_layers))])
        changes.append((p - clean.p_base) / clean.p_base * 100)
    assert sum(changes) / len(changes) < -30, changes


def test_last_to_last_blocks_only_the_diagonal(reference_handle, eval_samples):
    h = reference_handle
    enc = h.encode(eval_samples[0])
    edges = blocked_edges(enc.regions, "last->last")
    last = enc.seq_len - 1
    assert edges.sum() == 1 and edges[last, last]
    with torch.no_grad(), knockout(h.model, {3: edges[None]}, record_weights=True) as plan:
        h.forward(enc)
    row = plan.weights[3][0, :, last]  # (heads, seq)
    assert (row[:, last] == 0).all()
    assert (row[:, :last] > 0).all()
    assert torch.allclose(row.sum(-1), torch.ones(row.shape[0]))
    other_layer = plan.weights[4][0, :, last]
    assert (other_layer[:, last] > 0).all()


@pytest.mark.parametrize("impl", ["eager", "sdpa"])
def test_self_checks_pass_on_the_reference_model(reference_handle, eval_samples, impl):
    reference_handle.model.set_attn_implementation(impl)
    try:
        results = run_self_checks(reference_handle, eval_samples[0])
    finally:
        reference_handle.model.set_attn_implementation("eager")
    assert all(r.passed for r in results) and len(results) >= 5


def test_model_that_ignores_the_mask_is_refused(tiny_handle, eval_samples):
    """A layer whose attention bypasses the attention interface (plain causal SDPA)."""
    attn = tiny_handle.layers[2].self_attn
    original = attn.forward

    def causal_only(hidden_states, position_embeddings=None, attention_mask=None, **kwargs):
        from transformers.models.llama.modeling_llama import apply_rotary_pos_emb
        b, t, _ = hidden_states.shape
        q = attn.q_proj(hidden_states).view(b, t, -1, attn.head_dim).transpose(1, 2)
        k = attn.k_proj(hidden_states).view(b, t, -1, attn.head_dim).transpose(1, 2)
        v = attn.v_proj(hidden_states).view(b, t, -1, attn.head_dim).transpose(1, 2)
        q, k = apply_rotary_pos_emb(q, k, *position_embeddings)
        out = torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=True)
        return attn.o_proj(out.transpose(1, 2).reshape(b, t, -1)), None

    attn.forward = causal_only
    try:
        with pytest.raises(SelfCheckError, match="knockout reaches every layer"):
            run_self_checks(tiny_handle, eval_samples[0])
    finally:
        attn.forward = original


def test_flash_attention_is_refused_with_a_fix(tiny_handle):
    cfg = tiny_handle.model.config.text_config
    old = cfg._attn_implementation_internal
    cfg._attn_implementation_internal = "flash_attention_2"
    try:
        with pytest.raises(ValueError, match="cannot take a knockout mask.*attn_implementation='eager'"):
            check_supported(tiny_handle.model)
    finally:
        cfg._attn_implementation_internal = old


def test_unknown_flow_lists_valid_ones():
    message = r"unknown flow 'image->lats' \(did you mean 'image->last'\?\).*question->last"
    with pytest.raises(ValueError, match=message):
        parse_flow("image->lats")


def test_window_larger_than_model(tiny_handle):
    with pytest.raises(ValueError, match="larger than the model's 6 layers"):
        plan_configs(CORE_FLOWS, tiny_handle.n_layers, 7)


def test_question_not_in_tokens_is_a_clear_error(tiny_handle, eval_samples):
    s = eval_samples[0]
    bad = Sample(dict(s.row, question=""), s.image, s.scene)
    with pytest.raises(ValueError, match="not found in the tokens of the prompt"):
        tiny_handle.encode(bad)


def test_image_feature_mismatch_is_a_clear_error(tiny_handle, eval_samples):
    from flowcheck.models.handle import ModelHandle
    proc = tiny_handle.processor
    wrong = type(proc)(image_processor=proc.image_processor, tokenizer=proc.tokenizer, patch_size=32,
                       vision_feature_select_strategy="default", num_additional_image_tokens=1)
    h = ModelHandle(tiny_handle.model, wrong)
    with pytest.raises(ValueError, match="4 image tokens in the prompt but the llava layout .* has 16"):
        h.encode(eval_samples[0])


def test_wrongly_answered_samples_are_stored_without_knockouts(tiny_handle, eval_samples):
    """The paper's rule: only correctly answered samples are knocked out; a wrong one keeps
    its clean answer in the store and no changes (the tiny random model gets all wrong)."""
    from flowcheck.runs.execute import RunPlan, measure_sample, store_key
    plan = RunPlan(("image->last",), ("raw",), 3)
    configs = plan_configs(plan.flows, tiny_handle.n_layers, 3)
    rows = [measure_sample(tiny_handle, s, plan, store_key(plan, tiny_handle.n_layers), configs)
            for s in eval_samples[:3]]
    wrong = [r for r in rows if not r["correct"]]
    assert wrong and all(r["changes"] == {} and r["lens"] == {} and r["model_answer"] for r in wrong)


def test_unknown_engine_is_refused():
    from flowcheck.runs.execute import RunPlan
    message = r"unknown engine 'fastest' \(did you mean 'fast'\?\); valid engines: fast, exact"
    with pytest.raises(ValueError, match=message):
        RunPlan(("image->last",), ("raw",), 3, engine="fastest")
