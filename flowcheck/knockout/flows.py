"""Flows ``src->dst``: the one definition of which attention edges a knockout blocks.

Blocking a flow in a layer means: every ``dst`` position may not attend to any ``src``
position (edge (dst row, src column) gets -inf before the softmax), in all heads.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..errors import UsageError

FLOWS = ("image->question", "related->question", "other->question",
         "question->last", "image->last", "last->last")


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
    if name not in FLOWS:
        import difflib
        close = difflib.get_close_matches(str(name), FLOWS, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise UsageError(f"unknown flow {name!r}{hint}; valid flows: {', '.join(FLOWS)}")
    src, dst = name.split("->")
    return Flow(src, dst)
