"""Flows ``src->dst``: the one definition of which attention edges a knockout blocks.

Blocking a flow in a layer means: every ``dst`` position may not attend to any ``src``
position (edge (dst row, src column) gets -inf before the softmax), in all heads.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..registry import Registry

FLOWS = Registry("flow", ("image->question", "related->question", "other->question",
                          "question->last", "image->last", "last->last"))


@dataclass(frozen=True)
class Flow:
    src: str
    dst: str

    @property
    def name(self) -> str:
        return f"{self.src}->{self.dst}"

    def __str__(self) -> str:
        return self.name


def parse_flow(name: str) -> Flow:
    """'image->last' -> Flow('image', 'last'); unknown names list the valid ones."""
    src, dst = FLOWS.get_or_raise(name).split("->")
    return Flow(src, dst)
