"""Prompt templates. LLaVA-1.5 style, as in the paper (DESIGN.md section 2)."""
from __future__ import annotations

IMAGE_TOKEN = "<image>"
INSTRUCTION = "Answer the question using a single word or phrase."
LLAVA15 = "USER: <image>\n{question} \n" + INSTRUCTION + " ASSISTANT:"
CAPTION_REQUEST = "Describe the image."


def llava15_prompt(question: str) -> str:
    """The paper's prompt; the last position is the ':' of 'ASSISTANT:'."""
    return LLAVA15.format(question=question)


def caption_prompt() -> str:
    return f"USER: {IMAGE_TOKEN}\n{CAPTION_REQUEST} ASSISTANT:"


def capitalise(word: str) -> str:
    """LLaVA starts its answer with a capital: 'red' -> 'Red'."""
    return word[:1].upper() + word[1:]
