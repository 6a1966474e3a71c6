"""The logit lens follows the tokens the model writes: for every registered family's fixture
and every prompt template, the lens token of an answer is the first token of that answer as
written after the prompt, found here independently from the tokenizer's character offsets
(the first token that holds a character of the answer in prompt + answer).

Byte-level BPE (Llama-3, Qwen2) gives ' yes' and 'yes' different ids: after a chat template
that ends with a newline the model writes 'yes', after 'ASSISTANT:' it writes ' yes'.
"""
import functools

import pytest

from flowcheck.measure.lens import answer_tokens, first_answer_token, token_strings
from flowcheck.models.adapters import ADAPTERS
from flowcheck.models.fixtures.checkpoints import CHECKPOINTS, build_tokenizer
from flowcheck.models.prompts import PROMPTS, capitalise

WORDS = ["yes", "no", "red", "left", "blue", "table", "metal", "right", "man", "white",
         "wooden", "t-shirt", "fire hydrant"]
QUESTION = "Is the cup red or blue?"


@functools.lru_cache(maxsize=None)
def tokenizer(kind: str):
    if kind == "reference":
        from flowcheck.models.fixtures.tiny import build_tokenizer as build_reference_tokenizer
        return build_reference_tokenizer()
    return build_tokenizer(next(s for s in CHECKPOINTS.values() if s.tokenizer == kind))


def written_first_token(tok, template, question, word):
    """The oracle: tokenise prompt + answer with offsets; the first token ending past the
    answer's first character is the one the model writes first."""
    prompt = template.format(question)
    start = len(prompt) + len(template.answer_prefix)
    enc = tok(prompt + template.answer_prefix + word, add_special_tokens=not template.has_bos,
              return_offsets_mapping=True)
    return next(i for i, (_, end) in zip(enc["input_ids"], enc["offset_mapping"]) if end > start)


FAMILY_CASES = [("reference", "plain")] + [(s.tokenizer, s.prompt) for s in CHECKPOINTS.values()]


@pytest.mark.parametrize("kind, prompt", sorted(set(FAMILY_CASES)))
def test_each_fixtures_lens_tokens_are_the_answer_as_written_after_its_prompt(kind, prompt):
    tok, template = tokenizer(kind), PROMPTS[prompt]
    for word in WORDS:
        for variant in (word, capitalise(word)):
            got = first_answer_token(tok, template, QUESTION, variant)
            want = written_first_token(tok, template, QUESTION, variant)
            assert got == want, (kind, prompt, variant, tok.convert_ids_to_tokens([got, want]))


@pytest.mark.parametrize("kind", sorted({k for k, _ in FAMILY_CASES}))
@pytest.mark.parametrize("prompt", list(PROMPTS))
def test_every_template_with_every_tokenizer(kind, prompt):
    """Not only the pairs that ship: a user may pass any --prompt with any checkpoint."""
    tok, template = tokenizer(kind), PROMPTS[prompt]
    for word in ("yes", "Yes", "metal", "Metal"):
        assert first_answer_token(tok, template, QUESTION, word) == \
            written_first_token(tok, template, QUESTION, word)


def test_newline_ending_templates_take_the_word_without_its_space():
    """The bug this file guards: under llava_llama_3 and qwen2_vl the space-prefixed word
    ('Ġyes') was measured although the model writes 'yes'."""
    for kind, prompt in (("llama3", "llava_llama_3"), ("qwen2", "qwen2_vl")):
        tok = tokenizer(kind)
        tokens = token_strings(tok, answer_tokens(tok, PROMPTS[prompt], QUESTION, "yes"))
        assert tokens == {"lower": "yes", "capitalised": "Yes"}, (kind, tokens)
        assert PROMPTS[prompt].answer_prefix == ""
    assert PROMPTS["vicuna_v1"].answer_prefix == PROMPTS["plain"].answer_prefix == " "


def test_every_registered_family_and_template_is_covered_here():
    """A family registered without a fixture (or a template no fixture uses) fails here: add
    its fixture to ``CHECKPOINTS`` so the tests above check its lens tokens."""
    fixture_architectures = {s.architecture for s in CHECKPOINTS.values()}
    missing = [a for a in ADAPTERS if a not in fixture_architectures
               and a != "LlavaForConditionalGeneration"]  # the reference model is LLaVA
    assert not missing, f"families without a lens-token check: {missing}"
    used = {p for _, p in FAMILY_CASES}
    assert set(PROMPTS) <= used, f"templates no fixture uses: {set(PROMPTS) - used}"


def test_vicuna_and_plain_tokens_are_unchanged_for_every_answer_of_the_data():
    """The fix must not move LLaVA-1.5's (vicuna) or the reference model's (plain) lens: there
    the answer follows a space, as the earlier rule (' ' + word, tokenised alone) assumed."""
    from flowcheck.data import dataset
    from flowcheck.paths import EVAL_SPLIT
    answers = sorted({s.answer for s in dataset.load(EVAL_SPLIT)} | set(WORDS))
    for kind, prompt in (("reference", "plain"), ("vicuna", "vicuna_v1")):
        tok = tokenizer(kind)
        for word in answers:
            for variant in (word, capitalise(word)):
                alone = tok(" " + variant, add_special_tokens=False)["input_ids"][0]
                assert first_answer_token(tok, PROMPTS[prompt], QUESTION, variant) == alone


def test_the_reference_models_greedy_token_is_one_of_its_lens_tokens(reference_handle):
    """On a model trained on its template, the token it writes first for a correctly answered
    sample is the lower-case or the capitalised lens token."""
    from flowcheck.data.dataset import select_samples
    from flowcheck.measure.clean import clean_run
    checked = 0
    for sample in select_samples(None, max_samples=3):
        clean = clean_run(reference_handle, reference_handle.encode(sample), sample.answer)
        if not clean.correct:
            continue
        tokens = answer_tokens(reference_handle.tokenizer, reference_handle.adapter.prompt,
                               sample.question, sample.answer)
        assert clean.answer_id in (tokens["lower"], tokens["capitalised"]), sample.row["question_id"]
        checked += 1
    assert checked >= 10
