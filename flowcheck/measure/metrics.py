"""The paper's metric (relative change of p(answer) in percent) and its correct-only filter:
only samples whose greedy answer, stripped and lower-cased, equals the gold answer count."""
from __future__ import annotations


def relative_change(p_knockout, p_base):
    """Relative change of p(answer) in percent: (p_ko - p_base) / p_base * 100."""
    return (p_knockout - p_base) / p_base * 100.0


def is_correct(generated: str, answer: str) -> bool:
    """Lower-cased exact match of the model's answer with the gold answer."""
    return generated.strip().lower() == answer.strip().lower()
