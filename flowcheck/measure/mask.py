"""The edge mask: which (dst row, src column) attention edges a flow removes."""
from __future__ import annotations

from ..errors import DataError
from ..models.regions import Regions
from .flows import Flow, parse_flow


def blocked_edges(regions: Regions, flow: Flow | str):
    """(seq, seq) bool, True at every (dst position, src position) pair of the flow."""
    import torch
    flow = parse_flow(flow) if isinstance(flow, str) else flow
    src, dst = regions.group(flow.src), regions.group(flow.dst)
    if not src or not dst:
        raise DataError(f"flow {flow.name} has an empty token group "
                         f"({flow.src}: {len(src)} positions, {flow.dst}: {len(dst)} positions)")
    mask = torch.zeros(regions.seq_len, regions.seq_len, dtype=torch.bool)
    mask[torch.tensor(dst)[:, None], torch.tensor(src)[None, :]] = True
    return mask


def first_dst(regions: Regions, flow: Flow | str) -> int:
    """The first position whose attention a flow changes; everything before is clean."""
    flow = parse_flow(flow) if isinstance(flow, str) else flow
    return min(regions.group(flow.dst))
