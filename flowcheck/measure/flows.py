"""Flows ``src->dst``: the one definition of which attention edges a knockout blocks.

Blocking a flow in a layer means: every ``dst`` position may not attend to any ``src``
position (edge (dst row, src column) gets -inf before the softmax), in all heads.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..registry import Registry

CORE_FLOWS = ("image->question", "related->question", "other->question",
              "question->last", "image->last", "last->last")  # every family has these groups
DESTINATIONS = ("question", "last")  # an adapter's extra groups are sources into these


def flow_registry() -> Registry:
    """Every flow: the core ones, then each registered adapter's extra groups into question
    and last (e.g. LLaVA-NeXT's ``base``, ``hd``, ``related_hd``, ``newline``)."""
    from ..models.adapters import ADAPTERS
    extra = dict.fromkeys(g for adapter in ADAPTERS.values() for g in adapter.extra_groups)
    return Registry("flow", CORE_FLOWS + tuple(f"{g}->{d}" for g in extra for d in DESTINATIONS))


def flows_for(groups) -> tuple[str, ...]:
    """The flows whose source and destination groups are all in ``groups`` (a family's)."""
    groups = set(groups)
    return tuple(f for f in flow_registry() if set(f.split("->")) <= groups)


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
    src, dst = flow_registry().get_or_raise(name).split("->")
    return Flow(src, dst)
