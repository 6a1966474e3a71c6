"""The related rule against the paper's mask method, per family.

The official code draws the question objects' boxes red on a mask of the original image
size, sends it through the same image processor (no rescale, no normalisation) and the same
packing as the image, and marks an image token related when its patch holds a red pixel.
Here a red-on-black mask goes through the fixtures' real transformers processors (the same
square padding, canvas, tiles) and, for LLaVA-NeXT, transformers' own ``pack_image_features``.

Two box paintings: ``paper`` (the official code's ``draw.rectangle((x, y, x+w, y+h))``,
inclusive: w+1 x h+1 pixels; the default for GQA-format data) and ``exact`` (the box's own
pixels, as flowcheck's synthetic scenes record them). Which processed pixels are "box pixels"
depends on the resampling filter; the geometric reading is nearest-neighbour (each processed
pixel is the original pixel under its centre), and the analytic rule must equal it on every
trial. With the processors' bicubic filter two readings are counted: red majority (R > 127.5;
it can also add a cell, e.g. a one-pixel gap between two boxes) and the official code's exact
(255, 0, 0), which must be a subset of the rule (it drops box edges and thin boxes after
downscaling).
"""
import numpy as np
import pytest
from PIL import Image, ImageDraw

TRIALS = 60  # per family and case; each trial is one random image size and 1-3 random boxes


def _boxes(rng, w, h, case):
    """Random boxes; 'edges' puts them on the image border, 'borders' on LLaVA-NeXT tile borders
    and 14-px patch borders of the processed image."""
    boxes = []
    for _ in range(int(rng.integers(1, 4))):
        bw, bh = int(rng.integers(1, max(2, w // 3))), int(rng.integers(1, max(2, h // 3)))
        x, y = int(rng.integers(0, w - bw + 1)), int(rng.integers(0, h - bh + 1))
        if case == "edges":
            x = 0 if rng.random() < 0.5 else w - bw
            y = 0 if rng.random() < 0.5 else h - bh
        elif case == "borders":
            x = max(0, min(w - bw, int(w * rng.choice([0.25, 0.5, 0.75])) - bw // 2))
            y = max(0, min(h - bh, int(h * rng.choice([0.25, 0.5, 0.75])) - bh // 2))
        boxes.append((x, y, bw, bh))
    return boxes


def _mask(w, h, boxes, painting="exact"):
    img = Image.new("RGB", (w, h), (0, 0, 0))
    draw = ImageDraw.Draw(img)
    grow = 0 if painting == "paper" else 1
    for x, y, bw, bh in boxes:  # paper: as the official code draws; exact: the box's pixels
        draw.rectangle([x, y, x + bw - grow, y + bh - grow], fill=(255, 0, 0))
    return img


def _rule(handle, w, h, boxes, painting):
    """flowcheck's related offsets for boxes given as a dataset row gives them."""
    from flowcheck.data.boxes import paint_box
    painted = [p[0] for p in (paint_box(b, painting, w, h) for b in boxes) if p is not None]
    return set(handle.adapter.layout(handle.processor, handle.model, w, h).related(painted))


def _cells(pixels):
    """(n, 3, 336, 336) processed pieces -> (n, 576, 2): [majority red, exactly (255, 0, 0)]."""
    import torch
    px = torch.as_tensor(np.asarray(pixels), dtype=torch.float32)
    red = px[:, 0] > 127.5  # (n, 336, 336)
    exact = (px[:, 0] == 255) & (px[:, 1] == 0) & (px[:, 2] == 0)
    out = []
    for m in (red, exact):
        cells = m.reshape(m.shape[0], 24, 14, 24, 14).any(4).any(2)  # (n, 24, 24)
        out.append(cells.reshape(m.shape[0], 576).float())
    return torch.stack(out, -1)


def _mask_method(handle, w, h, boxes, resample, painting="exact"):
    """Related offsets by the mask method: (majority-red set, exact-red set)."""
    import torch
    from transformers.models.llava_next.modeling_llava_next import LlavaNextModel

    from flowcheck.models.adapters.llava import expand_to_square
    mask = _mask(w, h, boxes, painting)
    if handle.adapter.family == "llava" and handle.adapter.preprocess == "paper":
        mask = expand_to_square(mask, (0, 0, 0))  # the adapter's padding, with a black fill
    out = handle.processor.image_processor(mask, do_rescale=False, do_normalize=False,
                                           resample=resample, return_tensors="pt")
    pv = out["pixel_values"]
    if pv.dim() == 5:  # LLaVA-NeXT: the model's own packing, newline = -1
        feats = _cells(pv[0])
        packed, _ = LlavaNextModel.pack_image_features(
            handle.model.model, [feats], out["image_sizes"], "default", image_newline=-torch.ones(2))
        feats = packed[0]
    else:
        feats = _cells(pv)[0]
    return ({int(i) for i in torch.nonzero(feats[:, 0] == 1)},
            {int(i) for i in torch.nonzero(feats[:, 1] == 1)})


@pytest.fixture(scope="module")
def handles():
    from flowcheck.models.adapters.llava import LlavaAdapter
    from flowcheck.models.fixtures.checkpoints import build_handle
    from flowcheck.models.handle import ModelHandle
    small = dict(text_layers=1, vision_layers=1)
    llava = build_handle("llava-1.5-7b", **small)
    return {"llava (paper: pad)": llava,
            "llava (checkpoint: crop)": ModelHandle(llava.model, llava.processor,
                                                    adapter=LlavaAdapter(preprocess="checkpoint")),
            "llava_next": build_handle("llava-v1.6-vicuna-7b", **small)}


@pytest.mark.parametrize("painting, case", [("paper", "random"), ("paper", "edges"),
                                             ("paper", "borders"), ("exact", "random"),
                                             ("exact", "edges")])
@pytest.mark.parametrize("family", ["llava (paper: pad)", "llava (checkpoint: crop)", "llava_next"])
def test_related_equals_the_mask_method(handles, family, painting, case):
    handle = handles[family]
    rng = np.random.default_rng([len(family), len(case), len(painting)])
    sizes = [(500, 375), (375, 500), (500, 333), (320, 240), (640, 427), (336, 336), (1000, 200)]
    equal = majority_smaller = exact_smaller = 0
    for trial in range(TRIALS):
        w, h = sizes[trial % len(sizes)] if trial < len(sizes) else \
            (int(rng.integers(80, 900)), int(rng.integers(80, 900)))
        boxes = _boxes(rng, w, h, case)
        analytic = _rule(handle, w, h, boxes, painting)
        nearest, _ = _mask_method(handle, w, h, boxes, resample=0, painting=painting)
        assert analytic == nearest, (family, (w, h), boxes, sorted(analytic ^ nearest))
        majority, exact = _mask_method(handle, w, h, boxes, resample=3, painting=painting)
        assert exact <= analytic, (family, (w, h), boxes)
        equal += 1
        majority_smaller += majority != analytic
        exact_smaller += exact != analytic
    print(f"\n{family} / {painting} / {case}: rule == nearest-neighbour mask {equal}/{TRIALS}; bicubic "
          f"mask differs in {majority_smaller} (majority red), is smaller in {exact_smaller} (exact red)")


@pytest.mark.parametrize("size, box", [((500, 375), (170, 208, 124, 115)), ((500, 375), (1, 0, 214, 188)),
                                       ((500, 375), (291, 21, 173, 179)), ((375, 500), (0, 170, 200, 124))])
def test_next_boxes_on_a_boundary_hd_row_at_the_paper_sizes(handles, size, box):
    """500 x 375 is resized to 672 x 505 (ceil(375 * (672 / 500)), the processor's order), not
    504: the image sits one pixel lower and a box edge near an HD row boundary changes rows."""
    handle = handles["llava_next"]
    for painting in ("paper", "exact"):
        nearest, _ = _mask_method(handle, *size, [box], resample=0, painting=painting)
        assert _rule(handle, *size, [box], painting) == nearest, (size, box, painting)
