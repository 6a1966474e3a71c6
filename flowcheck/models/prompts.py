"""Prompt templates: LLaVA-1.5 style, as in the paper (``USER: <image>\n{question} \nAnswer the
question using a single word or phrase. ASSISTANT:``; the last position is the ':')."""
from __future__ import annotations

IMAGE_TOKEN = "<image>"
INSTRUCTION = "Answer the question using a single word or phrase."
LLAVA15 = "USER: <image>\n{question} \n" + INSTRUCTION + " ASSISTANT:"
CAPTION_REQUEST = "Describe the image."


def llava15_prompt(question: str) -> str:
    """The paper's prompt; the last position is the ':' of 'ASSISTANT:'."""
    return LLAVA15.format(question=question)


def caption_prompt(shape: str | None = None) -> str:
    request = f"Describe the {shape}." if shape else CAPTION_REQUEST
    return f"USER: {IMAGE_TOKEN}\n{request} ASSISTANT:"


def capitalise(word: str) -> str:
    """LLaVA starts its answer with a capital: 'red' -> 'Red'."""
    return word[:1].upper() + word[1:]

VICUNA_SYSTEM = ("A chat between a curious user and an artificial intelligence assistant. "
                 "The assistant gives helpful, detailed, and polite answers to the user's questions.")
VICUNA_LLAVA15 = VICUNA_SYSTEM + " " + LLAVA15  # the official code's vicuna_v1 conversation
