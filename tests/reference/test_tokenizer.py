"""Word-level tokenizer and LLaVA processor of the reference model."""
import pytest

from flowcheck.data import dataset
from flowcheck.data.questions import ANSWER_WORDS
from flowcheck.models.fixtures.tiny import ReferenceSpec, build_processor
from flowcheck.models.prompts import capitalise, llava15_prompt
from flowcheck.reference.batches import caption


@pytest.fixture(scope="module")
def processor():
    return build_processor(ReferenceSpec())


@pytest.mark.parametrize("word", ANSWER_WORDS)
def test_answer_words_are_single_tokens_in_both_casings(processor, word):
    tok = processor.tokenizer
    for form in (word, capitalise(word)):
        ids = tok(form, add_special_tokens=False)["input_ids"]
        assert len(ids) == 1 and ids[0] != tok.unk_token_id, form
    assert tok(word)["input_ids"] != tok(capitalise(word))["input_ids"]


def test_no_unknown_tokens_in_prompts_and_captions(processor):
    tok = processor.tokenizer
    for s in dataset.generate(1, 30):
        for text in (llava15_prompt(s.question), caption(s.scene)):
            assert tok.unk_token_id not in tok(text)["input_ids"], text


def test_prompt_tokens_end_with_assistant_colon(processor):
    ids = processor.tokenizer(llava15_prompt("Is the circle red or blue?"))["input_ids"]
    toks = processor.tokenizer.convert_ids_to_tokens(ids)
    assert toks[0] == "<s>" and toks[-2:] == ["ASSISTANT", ":"]
    assert toks[toks.index("<image>") + 1] == "\n"


def test_processor_expands_image_token(processor):
    s = dataset.generate(0, 1)[0]
    batch = processor(images=[s.image], text=[llava15_prompt(s.question)], return_tensors="pt")
    image_id = processor.tokenizer.convert_tokens_to_ids("<image>")
    assert int((batch["input_ids"] == image_id).sum()) == ReferenceSpec().image_tokens
    assert tuple(batch["pixel_values"].shape) == (1, 3, 64, 64)


def test_question_offsets_cover_the_question(processor):
    q = "Is the circle to the left or to the right of the square?"
    text = llava15_prompt(q)
    enc = processor.tokenizer(text, return_offsets_mapping=True)
    start = text.index(q)
    inside = [i for i, (a, b) in enumerate(enc["offset_mapping"])
              if a >= start and b <= start + len(q) and b > a]
    assert processor.tokenizer.decode([enc["input_ids"][i] for i in inside]).replace(" ?", "?") == q
