"""Route shaping for the control models (issue: ground-truth controls), training only.

A route is planted by attention-edge removal with layer bands: for a share of training
samples (``Route.share``) the plan's edges are removed in the plan's layers through
the same attention interface the knockout engine uses (``knockout.attention``); the other
samples train with normal attention. Edges removed during training get no gradient, so on
their own they keep whatever attention the starting model gave them, and at inference (all
edges open) the model may still read through them; a plan with ``attention_penalty`` adds
the attention mass on the plan's edges (``attention_mass_penalty``: each blocked flow and
layer weighs the same; eager attention) to the loss, so the model learns to leave them
alone. With ``open_penalty`` that mass is read from the weights the same attention scores
give with the block lifted (``knockout(record_open=True)``), so rows whose edges are removed
count too: with ``share`` 1.0 every shaped row trains on the planted route alone and no row
ever learns to read through a removed edge. Shipped models carry no trace of any of it:
they are stock checkpoints and run with normal attention.

Token groups are the engine's (image, question, last, related, other) plus ``template``:
every text position that is neither question nor last (BOS, 'USER:', newline, 'ASSISTANT'),
and ``template_after_image``, the template positions after the first image position.

Two more objectives make the planted route learnable and exclusive:
``vision_locality`` keeps each image patch to itself in the vision tower
(``vision_locality.py``), so the patches outside the question's objects know nothing of
them and stage 1 cannot carry the object; ``object_layer`` trains linear probes on that
layer's output at the question's word for each named object (its colour, size, pattern,
side), which the model can only satisfy by reading the object's patches in stage 2.

- ``paper``: image -> question in two stages, ``other`` patches in layers 0-2 (general) and
  the question's ``related`` patches in layers 5-6 (object-specific); question -> last in
  layers 6-10; image -> last, template-after-image -> last and related -> other blocked
  (BOS -> last stays open: an attention sink with no image in it). Penalty weight 10 for
  the first half of training, rising to 100 by three quarters (``penalty_start``): a heavy
  penalty from the start stops the route from being learned, a light one leaves leaks.
  A lens objective makes layer 9's raw logit lens predict the lower-case answer.
- ``direct``: image -> question and image -> template blocked in every layer, question ->
  last only in layers 0-3: the last position reads the image itself, no lower-case stage.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from ..errors import DataError, UsageError
from ..registry import Registry

ALL = tuple(range(12))


def _except(*layers: int) -> tuple[int, ...]:
    return tuple(layer for layer in ALL if layer not in layers)


@dataclass(frozen=True)
class Route:
    """Edges (src group, dst group, layers) removed together for ``share`` of the samples."""

    blocks: tuple[tuple[str, str, tuple[int, ...]], ...]
    share: float = 0.9
    n_layers: int = 12
    lens_layer: int | None = None  # raw lens of this layer's output predicts the lower-case answer
    attention_penalty: float = 0.0  # weight of the attention mass left on the plan's edges
    # True: the penalty reads the weights the same scores give with the block lifted, so rows
    # whose edges are removed count too (with share 1.0 no row ever reads through them)
    open_penalty: bool = False
    vision_locality: float = 0.0  # > 0: patches attend to themselves only (vision tower), this weight
    # the output of this layer at the question's word for each object it names must hold that
    # object's attributes (linear probes): the object-specific stage is over by then
    object_layer: int | None = None
    # the attention penalty's weight for the first half of training (None: attention_penalty
    # throughout); it then rises linearly to attention_penalty at three quarters: the route is
    # learned under a light penalty, the leaks are pushed down once it is
    penalty_start: float | None = None
    # whose patches are 'related' when shaping: "annotated" (the row's objects, as the engine
    # groups them) or "named" (every scene object whose shape the question names: the
    # annotation of a ChooseCat row holds the true option only, so shaping on it gives the
    # answer away by which option's patches can be read)
    related: str = "annotated"
    summary: str = ""

    def penalty_weight(self, step: int, steps: int) -> float:
        """The attention penalty's weight at ``step`` of ``steps``."""
        if self.penalty_start is None:
            return self.attention_penalty
        t = min(1.0, max(0.0, (step / max(1, steps) - 0.5) / 0.25))
        return self.penalty_start + t * (self.attention_penalty - self.penalty_start)


ROUTES = Registry("route", {
    "paper": Route(
        blocks=(("image", "last", ALL), ("image", "template", ALL),
                ("template_after_image", "last", ALL),  # BOS stays open: a sink, no image in it
                ("related", "question", _except(5, 6)), ("other", "question", _except(0, 1, 2)),
                ("related", "other", ALL),  # no relay of the object's patches, in any layer
                ("question", "last", _except(6, 7, 8, 9, 10))),
        lens_layer=9, share=1.0, attention_penalty=100.0, penalty_start=10.0, open_penalty=True,
        vision_locality=10.0, object_layer=6, related="named",
        summary="every shaped row: other->question layers 0-2, related->question 5-6, "
                "question->last 6-10; image->last, image->template, template-after-image->last, "
                "related->other blocked; related = the patches of every scene object the question "
                "names (both options of a choice); vision tower patch-local; layer 6 at each named "
                "object's word holds its attributes and side; lens: layer 9 -> lower case"),
    "direct": Route(
        blocks=(("image", "question", ALL), ("image", "template", ALL),
                ("question", "last", _except(0, 1, 2, 3))),
        summary="image->question and image->template blocked; question->last layers 0-3 only"),
}, hint="or none for the plain reference model")


def check_route(route: str | None) -> str | None:
    if route is not None:
        ROUTES.get_or_raise(route)
    return route


def group(regions, name: str) -> tuple[int, ...]:
    """Positions of a token group; ``template`` = text positions outside question and last,
    ``template_after_image`` = those after the first image position (BOS and 'USER:' come
    before the image and, attention being causal, hold nothing of it)."""
    if name not in ("template", "template_after_image"):
        return regions.group(name)
    taken = set(regions.image) | set(regions.question) | set(regions.last)
    start = min(regions.image) if name == "template_after_image" and regions.image else 0
    return tuple(p for p in range(start, regions.seq_len) if p not in taken)


def named_shapes(sample) -> list[str]:
    """Shapes the question names that the scene holds, in the order of the question."""
    words = "".join(c if c.isalpha() else " " for c in sample.question.lower()).split()
    return [w for w in dict.fromkeys(words) if sample.scene.find(w) is not None]


def named_regions(sample, regions, layout):
    """``regions`` with ``related`` = the patches of the annotated objects and of every scene
    object the question names, ``other`` = the remaining image patches (``related='named'``)."""
    boxes = sample.related_boxes() + [sample.scene.find(s).bbox for s in named_shapes(sample)]
    related = tuple(sorted(regions.image[p] for p in layout.related(boxes)))
    return replace(regions, related=related,
                   other=tuple(p for p in regions.other + regions.related if p not in related))


def plan_regions(plan: Route, sample, regions, layout):
    """The token groups ``plan`` shapes on: the engine's ``regions`` for an "annotated" plan,
    ``named_regions`` for a "named" one."""
    return regions if plan.related == "annotated" else named_regions(sample, regions, layout)


def block_edges(regions, src: str, dst: str):
    """(seq, seq) bool, True at every (dst, src) edge; None when a group is empty."""
    import torch
    s, d = group(regions, src), group(regions, dst)
    if not s or not d:
        return None
    edge = torch.zeros(regions.seq_len, regions.seq_len, dtype=torch.bool)
    edge[torch.tensor(d)[:, None], torch.tensor(s)[None, :]] = True
    return edge


def route_edges(regions, plan: Route, n_layers: int) -> dict:
    """layer -> (seq, seq) bool, True at each (dst, src) edge the plan removes in that layer."""
    if n_layers != plan.n_layers:
        raise UsageError(f"route plans are written for {plan.n_layers}-layer language models, "
                         f"this one has {n_layers}; write a Route for its depth")
    out = {}
    for src, dst, layers in plan.blocks:
        edge = block_edges(regions, src, dst)
        if edge is None:
            continue  # e.g. no related patches when the named objects are absent
        for layer in layers:
            out[layer] = out[layer] | edge if layer in out else edge
    return out


def shaped_blocks(attention_mask, rows, route: str, n_layers: int, rng: np.random.Generator | None,
                  share: float | None = None) -> dict:
    """layer -> (batch, seq, seq) bool blocked edges for a left-padded batch, for ``knockout``.

    ``attention_mask`` is the batch's (batch, seq) padding mask; ``rows[i]`` is None (no
    shaping: a caption or text-only row) or the ``Regions`` of row i's prompt, whose
    positions start after row i's left padding. Tokens after the prompt (the answer during
    training) keep the prompt's offsets: only the padding count places a row. ``share``
    overrides the plan's (1.0: every shaped row, no random draw).
    """
    import torch
    plan = ROUTES[route]
    share = plan.share if share is None else share
    batch, seq = attention_mask.shape
    pads = (attention_mask == 0).sum(-1).tolist()  # (batch,) left-padding tokens per row
    out = {layer: torch.zeros(batch, seq, seq, dtype=torch.bool) for layer in range(n_layers)}
    for i, regions in enumerate(rows):
        if regions is None or (share < 1 and rng.random() >= share):
            continue
        pad, n = pads[i], regions.seq_len
        if pad + n > seq:
            raise DataError(f"row {i}: a prompt of {n} tokens after {pad} padding tokens does not "
                             f"fit a batch of {seq} positions; pass the batch's own attention mask")
        for layer, edge in route_edges(regions, plan, n_layers).items():
            out[layer][i, pad:pad + n, pad:pad + n] |= edge
    return out


def attention_mass_penalty(attentions, attention_mask, rows, plan: Route, weight: float | None = None):
    """Mean over the plan's blocks of the attention mass that a block's destination positions
    put on its source positions in the block's layers (per row, head and destination
    position), over every shaped row; 0 where nothing is left on the plan's edges.

    ``attentions``: per layer (batch, heads, seq, seq) weights, with gradient; ``weight``
    overrides the plan's (``Route.penalty_weight`` of the step).
    """
    import torch
    batch, seq = attention_mask.shape
    pads = (attention_mask == 0).sum(-1).tolist()
    terms = []
    for src, dst, layers in plan.blocks:
        edges = torch.zeros(batch, seq, seq, dtype=torch.bool)
        for i, regions in enumerate(rows):
            edge = None if regions is None else block_edges(regions, src, dst)
            if edge is not None:
                pad, n = pads[i], regions.seq_len
                edges[i, pad:pad + n, pad:pad + n] = edge
        queries = edges.any(-1)  # (batch, seq): destination positions of this block
        if not queries.any():
            continue
        for layer in layers:
            mass = (attentions[layer] * edges[:, None]).sum(-1)  # (batch, heads, seq)
            terms.append(mass.permute(0, 2, 1)[queries].mean())  # mean over (row, dst, head)
    weight = plan.attention_penalty if weight is None else weight
    return weight * torch.stack(terms).mean() if terms else torch.zeros(())


OBJECT_ATTRIBUTES = ("color", "size", "pattern", "side")


def object_targets(sample, enc, vocab: dict, named: bool = False) -> list[tuple[int, dict[str, int]]]:
    """(prompt position of the object's word in the question, attribute -> value index) for
    each annotated object the scene holds (``named``: each object the question names that the
    scene holds) (``object_layer``'s probe targets)."""
    from .batches import label_index
    ids = enc.input_ids[0].tolist()  # (seq,) prompt ids, image token expanded
    names = [sample.row.get(f"{p} name", "-") for p in ("central object", "object1", "object2")]
    if named:
        names += named_shapes(sample)
    out = []
    for name in dict.fromkeys(n for n in names if n != "-"):
        obj = next((o for o in sample.scene.objects if o.shape == name), None)
        at = [p for p in enc.regions.question if ids[p] == vocab.get(name)]
        if obj is not None and at:
            out.append((at[-1], {k: label_index(sample.scene, obj, k) for k in OBJECT_ATTRIBUTES}))
    return out
