"""Flows ``src->dst``: the one definition of which attention edges a knockout blocks.

Blocking a flow in a layer means: every ``dst`` position may not attend to any ``src``
position (edge (dst row, src column) gets -inf before the softmax), in all heads.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..registry import Registry

CORE_FLOWS = ("image->question", "related->question", "other->question",
              "question->last", "image->last", "last->last")  # every family has these groups
# the official code's LLaVA-NeXT groups: base-grid patches, high-resolution patches, related
# patches in the high-resolution part, newline tokens
NEXT_FLOWS = tuple(f"{src}->{dst}" for src in ("base", "hd", "related_hd", "newline")
                   for dst in ("question", "last"))
FLOWS = Registry("flow", CORE_FLOWS + NEXT_FLOWS)


def flows_for(groups) -> tuple[str, ...]:
    """The flows whose source and destination groups are all in ``groups`` (a family's)."""
    groups = set(groups)
    return tuple(f for f in FLOWS if set(f.split("->")) <= groups)


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
