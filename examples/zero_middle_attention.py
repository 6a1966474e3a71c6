"""Model-edit example: silence (or weaken) the attention of the reference model's middle layers.

Zeroes the attention output projection (o_proj) of layers --first..--last of the
language model, so those layers move no information between positions (their MLPs still
run); ``--scale S`` multiplies it by S instead (1 = unchanged, 0 = silenced). Saves a stock
HF model folder that flowcheck can run like any other:

    python examples/zero_middle_attention.py --out runs/edited
    flowcheck run --model reference --out runs/original
    flowcheck run --model runs/edited --out runs/edited-report
    flowcheck compare runs/original runs/edited-report

``compare`` lists the claims whose verdict changed and the knockout curves that moved:
blocking a flow inside the silenced layers can no longer change anything.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path


def zero_attention(model, layers, scale: float = 0.0) -> list[int]:
    """Multiply o_proj of the given language-model layers by ``scale`` (0: silence them);
    returns the layers edited."""
    import torch
    lm_layers = model.model.language_model.layers
    with torch.no_grad():
        for i in layers:
            lm_layers[i].self_attn.o_proj.weight.mul_(scale)
    return list(layers)


def main(argv=None) -> int:
    from flowcheck.models.loading import load_model
    from flowcheck.models.source import CARD_FILE, read_source

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default="reference")
    p.add_argument("--first", type=int, default=4, help="first layer to silence (0-based)")
    p.add_argument("--last", type=int, default=7, help="last layer to silence (inclusive)")
    p.add_argument("--scale", type=float, default=0.0,
                   help="multiply the attention output by this (default 0: silence it)")
    p.add_argument("--out", type=Path, required=True)
    args = p.parse_args(argv)
    model, processor = load_model(args.model)
    n = len(model.model.language_model.layers)
    if not 0 <= args.first <= args.last < n:
        p.error(f"--first/--last must satisfy 0 <= first <= last < {n}, got {args.first}..{args.last}")
    edited = zero_attention(model, range(args.first, args.last + 1), args.scale)
    model.save_pretrained(args.out)
    processor.save_pretrained(args.out)
    src = read_source(args.model).path / CARD_FILE
    if src.is_file():  # keep the threshold family; record the edit
        card = json.loads(src.read_text())
        card["edit"] = (f"attention output of language-model layers {edited} multiplied by {args.scale:g}"
                        if args.scale else f"attention output of language-model layers {edited} set to zero")
        (args.out / CARD_FILE).write_text(json.dumps(card, indent=1, sort_keys=True) + "\n")
    what = f"scaled by {args.scale:g}" if args.scale else "silenced"
    print(f"wrote {args.out}: attention {what} in layers {edited[0]}..{edited[-1]} of {n}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
