"""Data-parallel shards of a run: which samples this process measures.

A run is split by sample, never one sample's configs across processes. The shard comes from
``--shard i/n`` (separate jobs, 0-based; a SLURM array passes
``--shard $SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_COUNT``), or from the launcher's
environment: ``RANK`` / ``WORLD_SIZE`` (torchrun, accelerate launch: processes launched
together for one run). A SLURM array is never read from the environment: arrays are as often
one job per model, each with its own run. Samples are dealt so that every shard gets about
the same work: heaviest first (sequence length x forward-equivalents), each to the shard
with the least so far. Every process computes the same deal from the same plan.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass

from ..errors import UsageError


@dataclass(frozen=True)
class Shard:
    index: int
    count: int

    @property
    def label(self) -> str:
        return f"shard-{self.index}-of-{self.count}"

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


SINGLE = Shard(0, 1)


def parse_shard(text: str) -> Shard:
    """``i/n`` with 0 <= i < n."""
    m = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", str(text))
    if not m or not (0 <= int(m.group(1)) < int(m.group(2))):
        raise UsageError(f"--shard must be i/n with 0 <= i < n (0-based, e.g. 0/4 .. 3/4), got {text!r}")
    return Shard(int(m.group(1)), int(m.group(2)))


def shard_from_env(env=None) -> Shard | None:
    """The shard a launcher gave this process (None: not launched as one of several)."""
    env = os.environ if env is None else env

    def number(name):
        value = env.get(name)
        if value in (None, ""):
            return None
        try:
            return int(value)
        except ValueError:
            raise UsageError(f"environment variable {name}={value!r} is not an integer") from None

    world, rank = number("WORLD_SIZE"), number("RANK")
    if world is not None and world > 1:
        if rank is None or not 0 <= rank < world:
            raise UsageError(f"WORLD_SIZE={world} but RANK={env.get('RANK')!r}; launch with torchrun "
                             "or accelerate, or pass --shard i/n")
        return Shard(rank, world)
    return None


def resolve_shard(explicit: str | Shard | None = None, env=None) -> Shard:
    """``--shard`` when given, else the launcher's, else the whole run."""
    if isinstance(explicit, Shard):
        return explicit
    if explicit not in (None, ""):
        return parse_shard(explicit)
    return shard_from_env(env) or SINGLE


def local_device(device: str, env=None) -> str:
    """A bare 'cuda' under a launcher means this process's GPU: ``cuda:LOCAL_RANK``."""
    env = os.environ if env is None else env
    local = env.get("LOCAL_RANK")
    if device == "cuda" and local not in (None, ""):
        if not local.strip().isdigit():
            raise UsageError(f"LOCAL_RANK={local!r} is not a GPU index; launch with torchrun or "
                             "accelerate (they set it), or pass --device cuda:N")
        return f"cuda:{int(local)}"
    return device


def deal(weights: dict, count: int) -> dict:
    """{question_id: shard index}: heaviest first, each to the least loaded shard (ties: the
    lower index), so the shards' total weights differ by at most the largest weight."""
    loads = [0.0] * count
    out = {}
    for q in sorted(weights, key=lambda q: (-weights[q], str(q))):
        i = min(range(count), key=lambda j: (loads[j], j))
        out[q] = i
        loads[i] += weights[q]
    return out
