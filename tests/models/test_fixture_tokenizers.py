"""Trained fixture tokenizers: Llama-2/Vicuna and Llama-3 behaviour on the LLaVA prompts."""
from __future__ import annotations

from functools import cache

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flowcheck.models.fixtures import tokenizers as ft

pytestmark = pytest.mark.fast  # the quick tier: make test-fast

VICUNA = ("A chat between a curious user and an artificial intelligence assistant. The assistant gives "
          "helpful, detailed, and polite answers to the user's questions. USER: <image>\n{question} \n"
          "Answer the question using a single word or phrase. ASSISTANT:")
LLAMA3 = ("<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nYou are a helpful language and "
          "vision assistant. You are able to understand the visual content that the user provides, and "
          "assist the user with a variety of tasks using natural language.<|eot_id|><|start_header_id|>"
          "user<|end_header_id|>\n\n<image>\n{question} \nAnswer the question using a single word or "
          "phrase.<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n \n")
QUESTION = "What color is the large metal sphere?"
QUESTIONS = (QUESTION, "Is the small red cube to the left or to the right of the cylinder?",
             "On which side of the image is the striped diamond?", "How many zebras are there?")


@cache
def _trained(which: str):
    return ft.train_vicuna_tokenizer() if which == "vicuna" else ft.train_llama3_tokenizer()


@pytest.fixture
def vicuna():
    return _trained("vicuna")


@pytest.fixture
def llama3():
    return _trained("llama3")


def _stripped(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def test_corpus_is_deterministic_and_has_no_special_markers():
    texts = ft.corpus()
    assert texts == ft.corpus() and len(texts) > 100
    assert not any(m in t for t in texts for m in ("<image>", "<|", "<s>"))
    assert {"Red", "red", "Yes", "no", "left"} <= set(texts)


# --- 1. special tokens and BOS ---------------------------------------------------------------------------

def test_vicuna_vocabulary_layout(vicuna):
    assert type(vicuna).__name__ == "LlamaTokenizer"
    ids = vicuna.convert_tokens_to_ids(["<unk>", "<s>", "</s>", "<0x00>", "<0x0A>", "<0xFF>"])
    assert ids == [0, 1, 2, 3, 13, 258]
    base = vicuna.vocab_size
    assert 300 < base <= 2000
    # llava-hf vicuna checkpoints: <image> right after the base vocabulary, then <pad>
    assert (vicuna.image_token, vicuna.image_token_id, vicuna.pad_token_id) == ("<image>", base, base + 1)
    assert len(vicuna) == base + 2
    assert (vicuna.bos_token_id, vicuna.eos_token_id, vicuna.unk_token_id) == (1, 2, 0)


def test_llama3_vocabulary_layout(llama3):
    base = llama3.vocab_size
    assert 256 < base <= 2000
    ids = llama3.convert_tokens_to_ids(["<|begin_of_text|>", "<|end_of_text|>", "<|start_header_id|>",
                                        "<|end_header_id|>", "<|eot_id|>", "<|reserved_special_token_250|>"])
    assert ids == [base, base + 1, base + 6, base + 7, base + 9, base + 255]  # Llama-3's offsets
    assert (llama3.image_token, llama3.image_token_id, llama3.pad_token_id) == ("<image>", base + 256,
                                                                                base + 257)
    assert (llama3.bos_token, llama3.eos_token) == ("<|begin_of_text|>", "<|eot_id|>")
    assert len(llama3) == base + 258


def test_image_token_is_one_token(vicuna, llama3):
    for tok, template in ((vicuna, VICUNA), (llama3, LLAMA3)):
        assert tok.tokenize("<image>") == ["<image>"]
        ids = tok(template.format(question=QUESTION), add_special_tokens=False).input_ids
        assert ids.count(tok.image_token_id) == 1
        assert tok.convert_tokens_to_ids("<image>") == tok.image_token_id


def test_vicuna_prompt_has_one_bos_first(vicuna):
    ids = vicuna(VICUNA.format(question=QUESTION)).input_ids
    assert ids[0] == vicuna.bos_token_id and ids.count(vicuna.bos_token_id) == 1
    assert vicuna.eos_token_id not in ids  # add_eos_token is False
    # Llama-2 with legacy=False: no "▁" after an added token, "\n" falls back to a byte
    i = ids.index(vicuna.image_token_id)
    assert vicuna.convert_ids_to_tokens(ids[i + 1:i + 3]) == ["<0x0A>", "What"]


def test_llama3_prompt_holds_its_own_bos(llama3):
    """The Llama-3 prompt text starts with <|begin_of_text|>: the post-processor would add a second one,
    which is why callers tokenise it with add_special_tokens=False."""
    prompt = LLAMA3.format(question=QUESTION)
    bos = llama3.bos_token_id
    ids = llama3(prompt, add_special_tokens=False).input_ids
    assert ids[0] == bos and ids.count(bos) == 1
    doubled = llama3(prompt).input_ids
    assert doubled[:2] == [bos, bos] and doubled.count(bos) == 2
    assert llama3("Is it red?").input_ids[0] == bos


# --- 2. offsets --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("question", QUESTIONS)
@pytest.mark.parametrize("which", ["vicuna", "llama3"])
def test_offsets_recover_the_question(request, which, question):
    tok = request.getfixturevalue(which)
    template = VICUNA if which == "vicuna" else LLAMA3
    prompt = template.format(question=question)
    q0 = template.index("{question}")
    q1 = q0 + len(question)
    enc = tok(prompt, return_offsets_mapping=True, add_special_tokens=which == "vicuna")
    inside, covered = [], []
    for token_id, (raw_start, raw_end) in zip(enc.input_ids, enc.offset_mapping):
        start, end = _stripped(prompt, raw_start, raw_end)
        if start < end and q0 <= start and end <= q1:
            inside.append(token_id)
            covered.append((start, end))
        elif start == end and q0 <= raw_start and raw_end <= q1:  # a lone "▁"/"Ġ" between words
            inside.append(token_id)
        else:  # no token straddles the question's edges
            assert end <= q0 or start >= q1 or start == end
    assert tok.decode(inside).split() == question.split()
    assert covered[0][0] == q0 and covered[-1][1] == q1
    assert "".join(prompt[s:e] for s, e in covered) == question.replace(" ", "")


# --- 3. bytes ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("text, odd", [("café", "é"), ("😀", "😀"), ("Is the 🟥 square rouge?", "🟥"),
                                       ("naïve", "ï"), ("x\ty", "\t"), ("a\x00b", "\x00")])
def test_vicuna_byte_fallback(vicuna, text, odd):
    """A character outside the corpus is spelled out as its UTF-8 bytes, never <unk>."""
    ids = vicuna(text, add_special_tokens=False).input_ids
    assert vicuna.unk_token_id not in ids
    tokens = "".join(vicuna.convert_ids_to_tokens(ids))
    assert "".join(f"<0x{b:02X}>" for b in odd.encode()) in tokens
    assert vicuna.decode(ids) == text


def test_vicuna_emoji_is_four_byte_tokens(vicuna):
    assert vicuna.tokenize("😀", add_special_tokens=False) == ["▁", "<0xF0>", "<0x9F>", "<0x98>", "<0x80>"]


@settings(max_examples=150, deadline=None)
@given(text=st.text(max_size=40))
def test_llama3_roundtrips_any_string(text):
    tok = _trained("llama3")
    ids = tok(text, add_special_tokens=False).input_ids
    assert tok.decode(ids) == text


@settings(max_examples=150, deadline=None)
@given(text=st.text(max_size=40).filter(lambda s: not s.startswith(" ") and "▁" not in s))
def test_vicuna_roundtrips_strings_without_leading_space(text):
    tok = _trained("vicuna")
    ids = tok(text, add_special_tokens=False).input_ids
    assert tok.unk_token_id not in ids
    assert tok.decode(ids) == text


# --- 4. spaces ---------------------------------------------------------------------------------------------

def test_vicuna_spaces(vicuna):
    # Metaspace(prepend_scheme="first"): "red" and " red" both become "▁red", as Llama-2's tokenizer.json does
    assert vicuna.tokenize("red") == vicuna.tokenize(" red") == ["▁red"]
    assert vicuna(" red", add_special_tokens=False).input_ids == vicuna.convert_tokens_to_ids(["▁red"])
    assert vicuna.tokenize("Red") == ["▁Red"]
    assert vicuna.tokenize("red")[0] != vicuna.tokenize("Red")[0]
    # an answer after "ASSISTANT:" adds exactly its "▁"-word token to the prompt's tokens
    prompt = VICUNA.format(question=QUESTION)
    for answer in ("red", "Red", "Yes", "no"):
        ids = vicuna(prompt + " " + answer).input_ids
        assert ids[:-1] == vicuna(prompt).input_ids
        assert vicuna.convert_ids_to_tokens(ids[-1]) == "▁" + answer
    assert vicuna.tokenize("12") == ["▁", "1", "2"]  # digits one by one, as Llama-2


def test_llama3_spaces(llama3):
    assert llama3.tokenize(" red") == ["Ġred"] and llama3.tokenize(" Red") == ["ĠRed"]
    assert llama3.tokenize("red") == ["red"]  # no prefix space, unlike Llama-2
    assert llama3.tokenize(" red")[0] != llama3.tokenize(" Red")[0]
    prompt = LLAMA3.format(question=QUESTION)
    ids = llama3(prompt + "Red", add_special_tokens=False).input_ids
    assert ids[:-1] == llama3(prompt, add_special_tokens=False).input_ids
    assert llama3.convert_ids_to_tokens(ids[-1]) == "Red"


# --- 5. save and load --------------------------------------------------------------------------------------

@pytest.mark.parametrize("which", ["vicuna", "llama3"])
def test_save_and_reload(request, tmp_path, which):
    from transformers import AutoTokenizer

    tok = request.getfixturevalue(which)
    template = VICUNA if which == "vicuna" else LLAMA3
    tok.save_pretrained(tmp_path)
    assert (tmp_path / "tokenizer.json").is_file() and (tmp_path / "tokenizer_config.json").is_file()
    loaded = AutoTokenizer.from_pretrained(tmp_path, local_files_only=True)
    assert type(loaded).__name__ == type(tok).__name__
    assert loaded.get_vocab() == tok.get_vocab()
    assert (loaded.image_token, loaded.image_token_id) == (tok.image_token, tok.image_token_id)
    assert (loaded.bos_token_id, loaded.eos_token_id, loaded.pad_token_id) == \
        (tok.bos_token_id, tok.eos_token_id, tok.pad_token_id)
    for question in QUESTIONS:
        prompt = template.format(question=question)
        for add in (True, False):
            expected = tok(prompt, add_special_tokens=add).input_ids
            assert loaded(prompt, add_special_tokens=add).input_ids == expected


# --- 6. determinism ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("train", [ft.train_vicuna_tokenizer, ft.train_llama3_tokenizer])
def test_training_is_deterministic(train):
    a, b = train(), train()
    assert a.get_vocab() == b.get_vocab()
    assert a.backend_tokenizer.to_str() == b.backend_tokenizer.to_str()


def test_vocab_size_caps_the_base_vocabulary():
    assert ft.train_vicuna_tokenizer(vocab_size=400).vocab_size == 400
    assert ft.train_llama3_tokenizer(vocab_size=300).vocab_size == 300


# --- the LLaVA-NeXT processor ------------------------------------------------------------------------------

@pytest.mark.parametrize("which", ["vicuna", "llama3"])
def test_llava_next_processor_expands_the_image_token(request, which):
    from PIL import Image
    from transformers import LlavaNextProcessor
    from transformers.models.llava_next.image_processing_pil_llava_next import LlavaNextImageProcessorPil

    tok = request.getfixturevalue(which)
    template, add = (VICUNA, True) if which == "vicuna" else (LLAMA3, False)
    image_processor = LlavaNextImageProcessorPil(
        size={"shortest_edge": 28}, crop_size={"height": 28, "width": 28},
        image_grid_pinpoints=[[28, 28], [28, 56], [56, 28]])
    processor = LlavaNextProcessor(image_processor=image_processor, tokenizer=tok, patch_size=14,
                                   vision_feature_select_strategy="default", num_additional_image_tokens=1)
    assert processor.image_token_id == tok.image_token_id
    prompt = template.format(question=QUESTION)
    out = processor(images=Image.new("RGB", (40, 30)), text=prompt, add_special_tokens=add)
    ids = list(out["input_ids"][0])
    n = ids.count(tok.image_token_id)
    assert n > 4  # base grid (2x2) plus the high-resolution tiles
    first = ids.index(tok.image_token_id)
    assert ids[first:first + n] == [tok.image_token_id] * n  # one contiguous run
    assert ids[:first + 1] + ids[first + n:] == tok(prompt, add_special_tokens=add).input_ids
