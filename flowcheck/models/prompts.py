"""Prompt templates, as the paper's official code builds them (the user turn is
``<image>\\n{question} \\nAnswer the question using a single word or phrase.``).

- ``plain``: ``USER: ... ASSISTANT:`` without a system line; flowcheck's own models are
  trained on it (the last position is the ':' of 'ASSISTANT:');
- ``vicuna_v1``: the vicuna_v1 conversation (llava-1.5-7b/13b, llava-v1.6-vicuna-7b);
- ``llava_llama_3``: the Llama-3 chat with the LLaVA system prompt and the " \\n" the
  official code appends (llama3-llava-next-8b). The text holds the BOS itself, so it is
  tokenised without adding special tokens (the HF tokenizer would add a second BOS).
- ``qwen2_vl``: Qwen2-VL's chat template (its default system prompt) around the same user
  turn, the image as ``<|vision_start|><|image_pad|><|vision_end|>``; the last position is
  the newline after ``<|im_start|>assistant`` (Qwen2.5-VL's template is the same);
- ``qwen3_vl``: Qwen3-VL's chat template, the same without a system turn;
- ``internvl``: InternVL-hf's chat template (no system turn), the image as ``<IMG_CONTEXT>``
  and a newline (the processor wraps the image tokens in ``<img>`` ... ``</img>``);
- ``llava_onevision``: llava-onevision-hf's chat template: ``<|im_start|>user `` then the image
  and a newline, no system turn, no newline after ``<|im_end|>``;
- ``gemma3``: Gemma 3's chat template: ``<bos>`` (tokenised without adding another), the user
  turn with ``<start_of_image>`` (the processor surrounds it with newlines and fills it with the
  image tokens) right before the text, then ``<start_of_turn>model``;
- ``smolvlm``: SmolVLM's chat template: ``<|im_start|>User:`` then the image and the text,
  ``<end_of_utterance>``, and ``Assistant:`` (the answer follows after a space).
"""
from __future__ import annotations

from dataclasses import dataclass

from ..registry import Registry

IMAGE_TOKEN = "<image>"
INSTRUCTION = "Answer the question using a single word or phrase."
USER_TURN = IMAGE_TOKEN + "\n{question} \n" + INSTRUCTION
LLAVA15 = "USER: " + USER_TURN + " ASSISTANT:"
CAPTION_REQUEST = "Describe the image."

VICUNA_SYSTEM = ("A chat between a curious user and an artificial intelligence assistant. "
                 "The assistant gives helpful, detailed, and polite answers to the user's questions.")
VICUNA_LLAVA15 = VICUNA_SYSTEM + " " + LLAVA15  # the official code's vicuna_v1 conversation
LLAMA3_SYSTEM = ("You are a helpful language and vision assistant. You are able to understand the "
                 "visual content that the user provides, and assist the user with a variety of tasks "
                 "using natural language.")
LLAMA3_LLAVA = ("<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\n" + LLAMA3_SYSTEM
                + "<|eot_id|><|start_header_id|>user<|end_header_id|>\n\n" + USER_TURN
                + "<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n \n")


@dataclass(frozen=True)
class PromptTemplate:
    name: str
    text: str  # with one {question} and one <image>
    has_bos: bool = False  # the text starts with the BOS: tokenise without special tokens

    @property
    def answer_prefix(self) -> str:
        """What stands between the prompt and the answer as the model writes it: a space after
        a prompt that ends in a word ('ASSISTANT:'), nothing after one that ends in whitespace
        (the newline of a chat template's assistant header)."""
        return "" if self.text[-1:].isspace() else " "

    def format(self, question: str) -> str:
        return self.text.format(question=question)

    def question_span(self, question: str) -> tuple[int, int]:
        """Character span of the question inside ``format(question)``."""
        before = self.text[:self.text.index("{question}")].replace("{{", "{").replace("}}", "}")
        return len(before), len(before) + len(question)


QWEN2_VL = ("<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\n"
            "<|vision_start|><|image_pad|><|vision_end|>{question} \n" + INSTRUCTION
            + "<|im_end|>\n<|im_start|>assistant\n")

QWEN3_VL = ("<|im_start|>user\n<|vision_start|><|image_pad|><|vision_end|>{question} \n" + INSTRUCTION
            + "<|im_end|>\n<|im_start|>assistant\n")

INTERNVL = ("<|im_start|>user\n<IMG_CONTEXT>\n{question} \n" + INSTRUCTION
            + "<|im_end|>\n<|im_start|>assistant\n")

LLAVA_ONEVISION = ("<|im_start|>user <image>\n{question} \n" + INSTRUCTION
                   + "<|im_end|><|im_start|>assistant\n")

GEMMA3 = ("<bos><start_of_turn>user\n<start_of_image>{question} \n" + INSTRUCTION
          + "<end_of_turn>\n<start_of_turn>model\n")

SMOLVLM = "<|im_start|>User:<image>{question} \n" + INSTRUCTION + "<end_of_utterance>\nAssistant:"

PROMPTS = Registry("prompt template", {
    "plain": PromptTemplate("plain", LLAVA15),
    "vicuna_v1": PromptTemplate("vicuna_v1", VICUNA_LLAVA15),
    "llava_llama_3": PromptTemplate("llava_llama_3", LLAMA3_LLAVA, has_bos=True),
    # Qwen2-VL's chat template (default system prompt) with the paper's user turn; no BOS
    "qwen2_vl": PromptTemplate("qwen2_vl", QWEN2_VL),
    # Qwen3-VL's chat template: no default system prompt
    "qwen3_vl": PromptTemplate("qwen3_vl", QWEN3_VL),
    # InternVL-hf's chat template: no default system prompt
    "internvl": PromptTemplate("internvl", INTERNVL),
    # llava-onevision-hf's chat template: no default system prompt
    "llava_onevision": PromptTemplate("llava_onevision", LLAVA_ONEVISION),
    # Gemma 3's chat template (it starts with the BOS)
    "gemma3": PromptTemplate("gemma3", GEMMA3, has_bos=True),
    # SmolVLM's chat template
    "smolvlm": PromptTemplate("smolvlm", SMOLVLM),
})


def prompt_names() -> tuple[str, ...]:
    """What ``--prompt`` takes: the registered templates and ``chat`` (``chat_prompt``)."""
    return (*PROMPTS, "chat")


def chat_prompt(processor) -> PromptTemplate:
    """``chat``: the checkpoint's own chat template (its processor's) around the paper's user
    turn - the image, then ``{question} \nAnswer the question using a single word or
    phrase.`` - with the generation prompt, so the last position is where the answer starts.
    Used by the generic path, whose families have no template of the paper's code."""
    from ..errors import ModelError
    marker = "\x00QUESTION\x00"
    messages = [{"role": "user", "content": [{"type": "image"},
                                             {"type": "text", "text": f"{marker} \n{INSTRUCTION}"}]}]
    if not getattr(processor, "chat_template", None):
        raise ModelError("the processor has no chat template, so the generic path cannot write the "
                         "model's prompt; save the processor with its chat_template, or pass --prompt")
    text = processor.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
    if text.count(marker) != 1:
        raise ModelError("the processor's chat template does not keep the user's text as given; "
                         "pass --prompt")
    bos = getattr(processor.tokenizer, "bos_token", None)
    escaped = text.replace("{", "{{").replace("}", "}}").replace(marker, "{question}")
    return PromptTemplate("chat", escaped, has_bos=bool(bos) and text.startswith(bos))


def llava15_prompt(question: str) -> str:
    """The prompt flowcheck's own models use; the last position is the ':' of 'ASSISTANT:'."""
    return LLAVA15.format(question=question)


def caption_prompt(shape: str | None = None) -> str:
    request = f"Describe the {shape}." if shape else CAPTION_REQUEST
    return f"USER: {IMAGE_TOKEN}\n{request} ASSISTANT:"


def capitalise(word: str) -> str:
    """LLaVA starts its answer with a capital: 'red' -> 'Red'."""
    return word[:1].upper() + word[1:]
