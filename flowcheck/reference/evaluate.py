"""Held-out accuracy: the greedy first answer token, judged by the suite's own rule
(``metrics.is_correct``: stripped, lower-cased exact match). Every answer of the synthetic
tasks is one token of the reference vocabulary, so the first token is the whole answer;
measured on the 3 x 720 evaluation samples, this and the suite's correct-only filter agree
on every sample."""
from __future__ import annotations

from collections import defaultdict

from ..measure.metrics import is_correct
from ..models.prompts import llava15_prompt


def first_tokens(model, processor, samples, batch_size: int = 64) -> list[str]:
    """The model's greedy first answer token for each sample (one forward, no generate)."""
    import torch

    out = []
    model.eval()
    with torch.no_grad():
        for i in range(0, len(samples), batch_size):
            chunk = samples[i:i + batch_size]
            batch = processor(images=[s.image for s in chunk],
                              text=[llava15_prompt(s.question) for s in chunk],
                              return_tensors="pt", padding=True)
            logits = model(**batch).logits[:, -1]  # (batch, vocab) at the last prompt position
            out.extend(processor.tokenizer.decode([i]) for i in logits.argmax(-1).tolist())
    return out


def accuracy_by_task(model, processor, samples, batch_size: int = 64) -> dict[str, float]:
    """Fraction answered correctly per task type (and 'all')."""
    hits, totals = defaultdict(int), defaultdict(int)
    for s, tok in zip(samples, first_tokens(model, processor, samples, batch_size)):
        ok = is_correct(tok, s.answer)
        for key in (s.task, "all"):
            hits[key] += ok
            totals[key] += 1
    return {k: hits[k] / totals[k] for k in sorted(totals)}
