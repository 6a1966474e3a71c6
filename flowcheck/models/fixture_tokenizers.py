"""Small tokenizers of the same kind as the real checkpoints', trained offline.

The real tokenizer files cannot be downloaded here, so the tiny fixture models get tokenizers
trained with the ``tokenizers`` library on a small built-in corpus (``corpus()``):

- ``train_vicuna_tokenizer``: the Llama-2/Vicuna kind (llava-1.5-7b/13b, llava-v1.6-vicuna-7b):
  a BPE with byte fallback over "▁"-prefixed words; ids ``<unk>``=0, ``<s>``=1, ``</s>``=2,
  ``<0x00>``..``<0xFF>``=3..258, then the learned pieces; ``<image>`` and ``<pad>`` are added
  right after the base vocabulary. It is a ``LlamaTokenizer``, built from the learned vocab and
  merges exactly as transformers builds one from a real ``tokenizer.json`` (Metaspace with
  prepend_scheme "first", so no "▁" is prepended after an added token such as ``<image>``).
- ``train_llama3_tokenizer``: the Llama-3 kind (llama3-llava-next-8b): byte-level BPE behind the
  Llama-3 split regex, the 256 Llama-3 special tokens (``<|begin_of_text|>`` first, the header and
  ``<|eot_id|>`` tokens at their Llama-3 offsets) after the base vocabulary, then ``<image>`` and
  ``<pad>``. It is a ``PreTrainedTokenizerFast``; its post-processor prepends
  ``<|begin_of_text|>``, so a prompt that holds the BOS itself is tokenised with
  ``add_special_tokens=False``.

Both carry ``image_token`` (``tokenizer.image_token``/``image_token_id``) as the LLaVA(-NeXT)
processors expect, and give offsets into the original string. Training is deterministic and
takes a fraction of a second.
"""
from __future__ import annotations

import itertools
import re

from .prompts import IMAGE_TOKEN

PAD = "<pad>"
UNK, BOS, EOS = "<unk>", "<s>", "</s>"
BYTE_TOKENS = tuple(f"<0x{i:02X}>" for i in range(256))

L3_BOS, L3_EOS, L3_EOT = "<|begin_of_text|>", "<|end_of_text|>", "<|eot_id|>"
L3_HEADER_START, L3_HEADER_END = "<|start_header_id|>", "<|end_header_id|>"
# the Llama-3 split regex, as in Meta-Llama-3's tokenizer.json
LLAMA3_PATTERN = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}"
                  r"| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")

# --- the corpus -------------------------------------------------------------------------------------------

_VICUNA_SYSTEM = ("A chat between a curious user and an artificial intelligence assistant. "
                  "The assistant gives helpful, detailed, and polite answers to the user's questions.")
_LLAMA3_SYSTEM = ("You are a helpful language and vision assistant. You are able to understand the "
                  "visual content that the user provides, and assist the user with a variety of tasks "
                  "using natural language.")
_INSTRUCTION = "Answer the question using a single word or phrase."
_VICUNA_PROMPT = _VICUNA_SYSTEM + " USER: <image>\n{question} \n" + _INSTRUCTION + " ASSISTANT:"
_LLAMA3_PROMPT = ("<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\n" + _LLAMA3_SYSTEM
                  + "<|eot_id|><|start_header_id|>user<|end_header_id|>\n\n<image>\n{question} \n"
                  + _INSTRUCTION + "<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n \n")
_MARKERS = re.compile(r"<\|[a-z_]+\|>|<image>")  # special tokens: never trained on as text

_COLORS = ("red", "blue", "green", "yellow", "purple", "orange", "gray", "brown", "cyan", "black", "white")
_SHAPES = ("circle", "square", "triangle", "diamond", "cross", "sphere", "cube", "cylinder")
_SIZES = ("small", "large", "big", "tiny")
_MATERIALS = ("metal", "rubber", "plain", "striped")
_OBJECTS = ("dog", "cat", "car", "bus", "tree", "man", "woman", "table", "chair", "ball", "cup", "sign")
_NUMBERS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")
_OTHER_ANSWERS = ("yes", "no", "left", "right", "top", "bottom", "color", "size", "pattern", "shape",
                  "material", "none", "both")
_SENTENCES = (
    "The quick brown fox jumps over the lazy dog.",
    "There is a red ball on the table, next to two blue cups.",
    "A man is riding a bike down the street while a woman walks her dog.",
    "The picture shows 3 cats and 12 birds in a garden.",
    "Please describe the image in detail.",
    "It's a sunny day; the sky is clear and the grass is green.",
    "What is in the image? I can't tell, it's too dark.",
    "Count the objects: 1, 2, 3, 4, 5, 6, 7, 8, 9, 10.",
)


def _questions() -> list[str]:
    qs = []
    for size, color, shape in itertools.product(_SIZES, _COLORS, _SHAPES):
        qs.append(f"What color is the {size} {shape}?")
        qs.append(f"Is the {size} {color} {shape} {size} or {_SIZES[(_SIZES.index(size) + 1) % 4]}?")
        qs.append(f"Is there a {color} {shape}?")
    for material, shape, color in itertools.product(_MATERIALS, _SHAPES, _COLORS[:6]):
        qs.append(f"What color is the large {material} {shape}?")
        qs.append(f"Which shape is {color}, the {shape} or the {_SHAPES[(_SHAPES.index(shape) + 1) % 8]}?")
    for a, b in itertools.permutations(_SHAPES, 2):
        qs.append(f"Is the {a} to the left or to the right of the {b}?")
        qs.append(f"What do the {a} and the {b} have in common?")
        qs.append(f"On which side of the image is the {a}?")
        qs.append(f"How many {a}s are there?")
    for obj in _OBJECTS:
        qs.append(f"What is the {obj} doing?")
        qs.append(f"Is there a {obj} in the image?")
        qs.append(f"What color is the {obj}?")
        qs.append(f"Describe the {obj}.")
    qs.append("Describe the image.")
    return qs


def _answers() -> list[str]:
    words = [*_COLORS, *_SHAPES, *_SIZES, *_MATERIALS, *_OBJECTS, *_NUMBERS, *_OTHER_ANSWERS]
    return [*words, *(w.capitalize() for w in words), *(str(i) for i in range(11))]


def corpus() -> list[str]:
    """The deterministic training corpus: prompt segments, VQA questions and answers, a few sentences.

    The special-token markers (``<image>``, ``<|...|>``) are split out: prompt texts come in as the
    segments between them.
    """
    questions, answers = _questions(), _answers()
    texts = []
    for i, question in enumerate(questions):
        answer = answers[i % len(answers)]
        if i % 5 == 0:  # the full prompts, split at the special tokens (whitespace-only segments dropped)
            prompt = (_VICUNA_PROMPT if i % 2 else _LLAMA3_PROMPT).format(question=question)
            texts += [s for s in _MARKERS.split(prompt) if s.strip()]
        texts.append(f"{question} {answer}")
        texts.append(f"{question}\n{answer}.")
    for answer in answers:
        texts += [f"ASSISTANT: {answer}", f"assistant\n\n{answer}", answer]
    texts += _SENTENCES
    return texts


# --- training ---------------------------------------------------------------------------------------------

def _train(tokenizer, trainer, extra=()) -> tuple[dict[str, int], list[tuple[str, str]]]:
    import json

    tokenizer.train_from_iterator(corpus() + list(extra), trainer=trainer)
    model = json.loads(tokenizer.to_str())["model"]
    merges = [tuple(m.split(" ")) if isinstance(m, str) else tuple(m) for m in model["merges"]]
    return model["vocab"], merges


def train_vicuna_tokenizer(vocab_size: int = 2000):
    """A Llama-2/Vicuna-kind ``LlamaTokenizer`` (BPE, byte fallback) with at most ``vocab_size``
    base tokens, then ``<image>`` and ``<pad>``; adds ``<s>`` (not ``</s>``)."""
    from tokenizers import Regex, Tokenizer, models, pre_tokenizers, trainers
    from transformers import LlamaTokenizer

    tok = Tokenizer(models.BPE(unk_token=UNK, byte_fallback=True, fuse_unk=True))
    # Training only: SentencePiece-like pieces ("▁" starts a word; letters, single digits and
    # punctuation runs are apart; "\n" is left to byte fallback, as in Llama-2). Encoding then runs
    # the whole string through Llama-2's Metaspace(split=False): no merge crosses a piece boundary.
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always", split=True),
        pre_tokenizers.Split(Regex(r"[\r\n\t]+"), behavior="removed"),
        pre_tokenizers.Split(Regex(r"▁?\p{L}+|\p{N}|▁?[^\p{L}\p{N}▁]+|▁"), behavior="isolated"),
    ])
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, min_frequency=2, show_progress=False,
                                  special_tokens=[UNK, BOS, EOS, *BYTE_TOKENS])
    vocab, merges = _train(tok, trainer)

    # LlamaTokenizer builds its backend from vocab + merges as it does from a real tokenizer.json (BPE with
    # byte_fallback and fuse_unk but no model-level unk_token, no normalizer, Metaspace "first"/split=False,
    # Replace+ByteFallback+Fuse+Strip decoder); add_bos_token must be explicit (the backend default is False).
    fast = LlamaTokenizer(
        vocab=vocab, merges=merges, unk_token=UNK, bos_token=BOS, eos_token=EOS,
        add_bos_token=True, add_eos_token=False, legacy=False, padding_side="left",
        extra_special_tokens={"image_token": IMAGE_TOKEN},  # the first added token: id == len(vocab)
    )
    fast.add_special_tokens({"pad_token": PAD})
    return fast


def llama3_special_tokens() -> list[str]:
    """Llama-3's 256 special tokens in id order (``<|begin_of_text|>`` first, ``<|eot_id|>`` 10th)."""
    reserved = [f"<|reserved_special_token_{i}|>" for i in range(251)]
    return [L3_BOS, L3_EOS, *reserved[:4], L3_HEADER_START, L3_HEADER_END, reserved[4], L3_EOT,
            *reserved[5:]]


def _byte_level_bpe(pattern: str, vocab_size: int, extra=()):
    """(pre-tokenizer, vocab, merges) of a byte-level BPE behind the split regex ``pattern``,
    trained on the corpus (plus ``extra`` texts)."""
    from tokenizers import Regex, Tokenizer, models, trainers
    from tokenizers import pre_tokenizers as pre_tok
    pre = pre_tok.Sequence([
        pre_tok.Split(Regex(pattern), behavior="isolated", invert=False),
        pre_tok.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=False),
    ])
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, min_frequency=2, show_progress=False,
                                  initial_alphabet=pre_tok.ByteLevel.alphabet())
    vocab, merges = _train(tok, trainer, extra)
    return pre, vocab, merges


def train_llama3_tokenizer(vocab_size: int = 2000):
    """A Llama-3-kind ``PreTrainedTokenizerFast`` (byte-level BPE) with at most ``vocab_size`` base
    tokens, then the 256 Llama-3 special tokens, ``<image>`` and ``<pad>``; adds ``<|begin_of_text|>``."""
    from tokenizers import AddedToken, Tokenizer, decoders, models, processors
    from transformers import PreTrainedTokenizerFast

    pre, vocab, merges = _byte_level_bpe(LLAMA3_PATTERN, vocab_size)
    tok = Tokenizer(models.BPE(vocab=vocab, merges=merges, ignore_merges=True))
    tok.pre_tokenizer = pre
    tok.decoder = decoders.ByteLevel(add_prefix_space=True, trim_offsets=True, use_regex=True)
    specials = [*llama3_special_tokens(), IMAGE_TOKEN, PAD]
    tok.add_special_tokens([AddedToken(t, special=True, normalized=False) for t in specials])
    bos_id = tok.token_to_id(L3_BOS)
    tok.post_processor = processors.Sequence([
        processors.ByteLevel(add_prefix_space=True, trim_offsets=False, use_regex=True),
        processors.TemplateProcessing(single=f"{L3_BOS} $A", pair=f"{L3_BOS} $A {L3_BOS} $B:1",
                                      special_tokens=[(L3_BOS, bos_id)]),
    ])
    return PreTrainedTokenizerFast(
        tokenizer_object=tok, bos_token=L3_BOS, eos_token=L3_EOT, pad_token=PAD,
        extra_special_tokens={"image_token": IMAGE_TOKEN}, padding_side="left",
        model_input_names=["input_ids", "attention_mask"], clean_up_tokenization_spaces=False,
    )


# Qwen2(-VL): byte-level BPE behind the Qwen2 split regex (single digits), no BOS, and its
# special tokens in Qwen2-VL's id order after the base vocabulary.
QWEN2_PATTERN = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}"
                 r"| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")
QWEN2_SPECIALS = ("<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|object_ref_start|>",
                  "<|object_ref_end|>", "<|box_start|>", "<|box_end|>", "<|quad_start|>", "<|quad_end|>",
                  "<|vision_start|>", "<|vision_end|>", "<|vision_pad|>", "<|image_pad|>", "<|video_pad|>")
QWEN2_PROMPT = ("<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\n"
                "<|vision_start|><|image_pad|><|vision_end|>{question} \n" + _INSTRUCTION
                + "<|im_end|>\n<|im_start|>assistant\n")


def train_qwen2_tokenizer(vocab_size: int = 2000):
    """A Qwen2-kind ``PreTrainedTokenizerFast`` (byte-level BPE, no BOS) with at most
    ``vocab_size`` base tokens, then Qwen2-VL's 14 special tokens (``<|image_pad|>`` is the
    image token); trained on the shared corpus plus the Qwen2-VL prompt's segments."""
    from tokenizers import AddedToken, Tokenizer, decoders, models, processors
    from transformers import PreTrainedTokenizerFast

    extra = [seg for q in _questions()[::5] for seg in _MARKERS.split(QWEN2_PROMPT.format(question=q))
             if seg.strip()]
    pre, vocab, merges = _byte_level_bpe(QWEN2_PATTERN, vocab_size, extra)
    tok = Tokenizer(models.BPE(vocab=vocab, merges=merges, ignore_merges=False))
    tok.pre_tokenizer = pre
    tok.decoder = decoders.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=True)
    tok.post_processor = processors.ByteLevel(add_prefix_space=False, trim_offsets=False, use_regex=True)
    tok.add_special_tokens([AddedToken(t, special=True, normalized=False) for t in QWEN2_SPECIALS])
    return PreTrainedTokenizerFast(
        tokenizer_object=tok, eos_token="<|im_end|>", pad_token="<|endoftext|>",
        extra_special_tokens={"image_token": "<|image_pad|>", "video_token": "<|video_pad|>",
                              "vision_bos_token": "<|vision_start|>", "vision_eos_token": "<|vision_end|>"},
        padding_side="left", model_input_names=["input_ids", "attention_mask"],
        clean_up_tokenization_spaces=False,
    )
