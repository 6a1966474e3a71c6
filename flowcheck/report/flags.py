"""Verdicts that stand on little, flagged wherever a verdict is shown.

- few samples: fewer than ``MIN_CORRECT`` correctly answered samples (the claims judge only
  those): the bootstrap interval is wide and the verdict can move with a handful of samples;
- near chance: the model answers the task no better than always giving its most common gold
  answer (within ``CHANCE_MARGIN``): the samples it gets right may be right by luck, and an
  edited model that broke answering can still show "healthy" curves on the few it keeps.
"""
from __future__ import annotations

from ..claims.judge import POOLED

MIN_CORRECT = 30
CHANCE_MARGIN = 0.05


def _pooled(counts: dict) -> dict:
    n = sum(c["n"] for c in counts.values())
    ok = sum(c["n_correct"] for c in counts.values())
    base = sum(c.get("majority", 0) * c["n"] for c in counts.values()) / n if n else 0
    return {"n": n, "n_correct": ok, "majority": base}


def task_counts(counts: dict, task: str) -> dict:
    return _pooled(counts) if task == POOLED else counts.get(task, {"n": 0, "n_correct": 0})


def flag_names(counts: dict, task: str) -> list[str]:
    """The short form of ``flags``: 'few samples', 'near chance'."""
    return [f.split(" (")[0] for f in flags(counts, task)]


def flags(counts: dict, task: str) -> list[str]:
    """Why a verdict on ``task`` (or pooled) stands on little; [] when it does not."""
    c = task_counts(counts, task)
    out = []
    if c["n_correct"] < MIN_CORRECT:
        out.append(f"few samples ({c['n_correct']} correct < {MIN_CORRECT})")
    if c["n"] and "majority" in c and c["n_correct"] / c["n"] <= c["majority"] + CHANCE_MARGIN:
        out.append(f"near chance ({c['n_correct'] / c['n']:.0%} correct; always giving the most "
                   f"common answer: {c['majority']:.0%})")
    return out
