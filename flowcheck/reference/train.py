"""Train the reference model on synthetic scenes (CPU, deterministic, resumable).

Objectives, summed each step:
- answer: cross-entropy of the capitalised answer token after 'ASSISTANT:' (QA samples);
- caption: next-token loss on a lower-case scene description (attribute words mid-sentence);
- patch: linear probes on the vision tower's patch features predict the attributes of the
  object under each patch (training scaffolding only: the probes are not saved).
QA samples include open attribute queries ('What color is the circle?', a ``query_share``
of the QA rows, training only): they cannot be answered by checking which option appears anywhere in
  the scene, so they make the model bind the named shape to its own attributes.
The first ``vision_steps`` steps train the vision tower alone on the patch objective, so
image tokens carry the objects' attributes before the language model starts reading them.
Then a curriculum (``batches``): lookup tasks only for the first 25% of steps, scenes of 1
object, then 2, then 2-3, and 3-4 from 40% of the steps on (``tasks_at``, ``objects_at``);
a share of QA samples is asked about a written scene description instead of the image
(``text_share_at``: half, then a quarter, then a tenth), which teaches the lookup logic on
text, where it is easy, before the image tokens have to carry it. Task sampling leans
towards the tasks the model currently gets wrong (validation accuracy).

Control models (``route``, with ``init_from``): a fine-tune of a trained model, which skips
the vision phase and the curriculum (it trains on the final stage's mix); the six-task image
rows are shaped by layer-banded attention-edge dropout (``shaping``), and a route plan with a
lens layer adds the lens objective (weight ``lens_loss_weight``).
"""
from __future__ import annotations

import json
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from ..data.dataset import check_seed, generate
from ..data.questions import TASKS
from ..errors import RunFolderError
from ..models.fixtures.tiny import ReferenceSpec, build_model, build_processor
from ..paths import writing
from .batches import PATCH_LABELS, draw_batch, objects_at, patch_labels, tasks_at, text_share_at
from .evaluate import accuracy_by_task
from .shaping import OBJECT_ATTRIBUTES, ROUTES, check_route, object_targets, plan_regions

CHECKPOINT = "checkpoint.pt"
VALIDATION_SEED = 99  # the validation set used for task weighting; not the frozen eval split


@dataclass(frozen=True)
class TrainSpec:
    seed: int = 0
    steps: int = 8000
    batch_size: int = 48
    vision_steps: int = 300
    caption_share: float = 0.25
    query_share: float = 0.3
    lr: float = 5e-4
    warmup: int = 200
    weight_decay: float = 0.01
    patch_loss_weight: float = 0.5
    caption_loss_weight: float = 0.5
    lens_loss_weight: float = 0.5  # only with a route whose plan has a lens layer
    object_loss_weight: float = 0.5  # only with a route whose plan has an object layer
    eval_every: int = 250
    val_per_task: int = 40
    threads: int = 2
    route: str | None = None  # route shaping for a control model (see shaping.ROUTES)
    init_from: str | None = None  # fine-tune from this model folder ('reference') instead of init


def _lr(spec: TrainSpec, step: int) -> float:
    if step < spec.warmup:
        return spec.lr * (step + 1) / spec.warmup
    t = (step - spec.warmup) / max(1, spec.steps - spec.warmup)
    return spec.lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * t)))


def _task_weights(acc: dict[str, float] | None, allowed: tuple[str, ...] = TASKS) -> np.ndarray:
    """Sampling weight per task: more for tasks answered wrongly, zero outside ``allowed``."""
    acc = acc or {}
    return np.array([(1.0 - acc.get(t, 0.0) + 0.15) * (t in allowed) for t in TASKS])


def tie_capitalised_rows(model, tokenizer) -> None:
    """Start each capitalised word ('Red') from its lower-case word's ('red') embedding and
    unembedding row (plus the row's own init as noise): a capitalised answer then begins
    as a copy of the lower-case word, and training only has to learn the capital."""
    import torch
    vocab = tokenizer.get_vocab()
    emb = model.get_input_embeddings().weight
    head = model.get_output_embeddings().weight
    with torch.no_grad():
        for word, i in vocab.items():
            lower = vocab.get(word.lower())
            if word[:1].isupper() and lower is not None and lower != i:
                emb[i] = emb[lower] + 0.1 * emb[i]
                head[i] = head[lower] + 0.1 * head[i]


def lower_case_ids(tokenizer) -> dict[int, int]:
    """Capitalised word id -> its lower-case word id ('Red' -> 'red')."""
    vocab = tokenizer.get_vocab()
    return {i: vocab[w.lower()] for w, i in vocab.items()
            if w[:1].isupper() and w.lower() in vocab and vocab[w.lower()] != i}


def _text_losses(model, processor, texts, kinds, images, shaping=None, objects=None):
    """(answer loss, caption loss, lens loss, route penalty): mean cross-entropy over the answer tokens after
    'ASSISTANT:' (QA rows), over the caption tokens (caption rows), and, with a route plan,
    the route's own terms: a ``lens_layer``'s raw logit lens at the last prompt position
    against the lower-case form of the answer (QA rows), and the route penalty,
    ``attention_penalty`` x the mean attention mass left on the plan's edges (weight applied
    once, in ``attention_mass_penalty``; with ``open_penalty`` the mass the edges would get
    with the block lifted) plus ``vision_locality`` x the vision-tower attention patches would
    put outside themselves.

    ``shaping``: (regions per row, route, rng). ``objects``: (targets per row from
    ``shaping.object_targets`` or None, probes): with a plan's ``object_layer``, a fifth term,
    the probes' cross-entropy on that layer's output at each named object's word."""
    import contextlib

    import torch
    import torch.nn.functional as F

    tok = processor.tokenizer
    batch = processor(images=images, text=[t + " " + tok.eos_token for t in texts],
                      return_tensors="pt", padding=True)
    ids = batch["input_ids"]  # (batch, seq), left padded
    seq = ids.shape[1]
    blocking, plan, captured = contextlib.nullcontext(), None, {}
    if shaping is not None:  # (regions per row, route, rng): block the route's edges per layer
        from ..measure.attention import knockout
        from .shaping import shaped_blocks  # looked up per call: tests wrap it
        regions, route, rng, *weight = shaping  # optional 4th: the penalty weight of the step
        plan = ROUTES[route]
        layers = model.model.language_model.layers
        blocking = knockout(model, shaped_blocks(batch["attention_mask"], regions, route,
                                                 len(layers), rng),
                            record_open=plan.open_penalty and plan.attention_penalty > 0)
    local = contextlib.nullcontext([])
    if plan is not None and plan.vision_locality > 0:
        from .vision_locality import local_patches
        local = local_patches(model)
    def capture(layer: int, key: str):  # that layer's output hidden states -> captured[key]
        return model.model.language_model.layers[layer].register_forward_hook(
            lambda mod, args, out: captured.__setitem__(key, out[0] if isinstance(out, tuple) else out))

    hooks = []
    if plan is not None and plan.lens_layer is not None:
        hooks.append(capture(plan.lens_layer, "h"))
    if plan is not None and plan.object_layer is not None and objects is not None:
        hooks.append(capture(plan.object_layer, "obj"))
    penalise = plan is not None and plan.attention_penalty > 0
    try:
        with blocking as ko, local as vision_open:
            out = model(**batch, output_attentions=penalise and not plan.open_penalty)
    finally:
        for hook in hooks:
            hook.remove()
    logits = out.logits[:, :-1]  # (batch, seq-1, vocab) predicts ids[:, 1:]
    penalty = torch.zeros(())
    if penalise:
        from .shaping import attention_mass_penalty
        attentions = ([ko.open_weights[i] for i in range(len(ko.open_weights))] if plan.open_penalty
                      else out.attentions)
        penalty = attention_mass_penalty(attentions, batch["attention_mask"], regions, plan,
                                         *weight)
    if vision_open:
        from .vision_locality import locality_penalty
        penalty = penalty + locality_penalty(vision_open, plan.vision_locality)
    target = ids[:, 1:]
    is_caption = torch.tensor([k == "caption" for k in kinds])
    n_text = [len(tok(t)["input_ids"]) for t in texts]
    n_prompt = [len(tok(t.rsplit(" ASSISTANT:", 1)[0] + " ASSISTANT:")["input_ids"])
                for t in texts]
    mask = torch.zeros_like(target, dtype=torch.bool)
    firsts = []
    for i, (nt, npr) in enumerate(zip(n_text, n_prompt)):
        # eos appended -> text ends at seq-1; target index j predicts token j+1
        first = seq - (nt + 1) + npr  # position of the first answer token in ids
        mask[i, first - 1:seq - 1] = True
        firsts.append(first)
    ce = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), target.reshape(-1),
                         reduction="none").view_as(target)
    answer = (ce * mask)[~is_caption].sum() / mask[~is_caption].sum().clamp(min=1)
    caption = (ce * mask)[is_caption].sum() / mask[is_caption].sum().clamp(min=1)
    lens = torch.zeros(())
    if "h" in captured:
        lower = lower_case_ids(tok)
        rows = [i for i, k in enumerate(kinds) if k != "caption" and int(ids[i, firsts[i]]) in lower]
        if rows:
            h = captured["h"][rows, [firsts[i] - 1 for i in rows]]  # (rows, hidden), raw: no norm
            want = torch.tensor([lower[int(ids[i, firsts[i]])] for i in rows])
            lens = F.cross_entropy(model.lm_head(h), want)
    object_loss = torch.zeros(())
    if "obj" in captured:  # (batch, seq, hidden) output of the plan's object layer
        targets, probes = objects
        pads = (batch["attention_mask"] == 0).sum(-1).tolist()
        terms = [F.cross_entropy(probes[f"q_{k}"](captured["obj"][i, pads[i] + pos])[None],
                                 torch.tensor([v]))
                 for i, row in enumerate(targets) if row for pos, labels in row
                 for k, v in labels.items()]
        if terms:
            object_loss = torch.stack(terms).mean()
    return answer, caption, lens, penalty, object_loss


def check_out_dir(out: Path) -> Path:
    out = Path(out)
    with writing("the training output", out):
        out.mkdir(parents=True, exist_ok=True)
        probe = out / ".write-test"
        probe.write_text("")
        probe.unlink()
    return out


def train(out: Path, spec: TrainSpec = TrainSpec(), model_spec: ReferenceSpec = ReferenceSpec(),
          resume: bool = True, progress: bool = True, log=None):
    """Train, checkpointing every ``eval_every`` steps; returns (model, processor, history)."""
    import torch
    import torch.nn.functional as F

    check_seed(spec.seed)
    log = log or (lambda line: print(line, flush=True))
    out = check_out_dir(out)
    torch.set_num_threads(spec.threads)
    processor = build_processor(model_spec)
    tok = processor.tokenizer
    model = build_model(model_spec, tok, spec.seed)
    tie_capitalised_rows(model, tok)
    check_route(spec.route)
    if spec.init_from:  # fine-tune: start from a trained model's weights
        from ..models.loading import load_model
        model.load_state_dict(load_model(spec.init_from)[0].state_dict())
    shaper, plan = None, ROUTES[spec.route] if spec.route else None
    if plan is not None:
        from ..models.handle import ModelHandle
        shaper = ModelHandle(model, processor, name="training")
        if plan.attention_penalty or plan.vision_locality:  # the penalties read attention weights
            model.set_attn_implementation("eager")
    torch.manual_seed(spec.seed)
    probes = torch.nn.ModuleDict({k: torch.nn.Linear(model_spec.vision_hidden, len(v) + 1)
                                  for k, v in PATCH_LABELS.items()})
    object_probes, vocab = None, tok.get_vocab()
    if plan is not None and plan.object_layer is not None:  # text-side probes, own module
        object_probes = torch.nn.ModuleDict({f"q_{k}": torch.nn.Linear(model_spec.text_hidden,
                                                                       len(PATCH_LABELS[k]))
                                             for k in OBJECT_ATTRIBUTES})
        probes.update(object_probes)
    params = list(model.parameters()) + list(probes.parameters())
    opt = torch.optim.AdamW(params, lr=spec.lr, weight_decay=spec.weight_decay, betas=(0.9, 0.98))
    val = generate(VALIDATION_SEED, spec.val_per_task)

    start, history, acc, elapsed = 0, [], None, 0.0
    ckpt = out / CHECKPOINT
    if resume and ckpt.is_file():
        state = torch.load(ckpt, weights_only=False)
        saved = {**asdict(TrainSpec()), **state["train_spec"]}  # fields added later: defaults
        if saved != asdict(spec) or state["model_spec"] != model_spec.to_dict():
            raise RunFolderError(f"{ckpt} was written with other settings; delete it or pass the "
                             "same options to resume")
        model.load_state_dict(state["model"])
        probes.load_state_dict(state["probes"])
        opt.load_state_dict(state["opt"])
        start, history, acc, elapsed = state["step"], state["history"], state["acc"], state["elapsed"]
        log(f"resuming from step {start}")

    captured = {}
    projector = model.model.multi_modal_projector
    hooks = [projector.register_forward_pre_hook(lambda mod, args: captured.__setitem__("patches", args[0]))]
    bar = None
    if progress:
        from tqdm import tqdm
        bar = tqdm(total=spec.steps, initial=start, desc="train", unit="step", dynamic_ncols=True)
    t0 = time.perf_counter() - elapsed
    model.train()
    try:
        for step in range(start, spec.steps):
            for g in opt.param_groups:
                g["lr"] = _lr(spec, step)
            stage = spec.steps - 1 if spec.init_from else step  # fine-tunes: final curriculum stage
            texts, images, kinds, scenes, sources = draw_batch(
                spec.seed, step, spec.batch_size, _task_weights(acc, tasks_at(stage, spec.steps)),
                spec.caption_share, objects_at(stage, spec.steps), text_share_at(stage, spec.steps),
                spec.query_share, return_samples=True)
            vision_only = step < spec.vision_steps and not spec.init_from
            if vision_only:  # patch objective only: vision tower + projector
                pixels = processor.image_processor(images, return_tensors="pt")["pixel_values"]
                model.model.get_image_features(pixel_values=pixels)
                answer_loss = caption_loss = lens_loss = penalty = object_loss = torch.zeros(())
            else:
                shaping = objects = None
                if shaper is not None:
                    with torch.no_grad():
                        encs = [shaper.encode(x) if x is not None else None for x in sources]
                    regions = [None if e is None else plan_regions(plan, x, e.regions, shaper.layout(x))
                               for x, e in zip(sources, encs)]
                    shaping = (regions, spec.route, np.random.default_rng([spec.seed, 11, step]),
                               plan.penalty_weight(step, spec.steps))
                    if object_probes is not None:
                        objects = ([object_targets(x, e, vocab, plan.related == "named")
                                    if e is not None else None
                                    for x, e in zip(sources, encs)], object_probes)
                answer_loss, caption_loss, lens_loss, penalty, object_loss = _text_losses(
                    model, processor, texts, kinds, images, shaping, objects)
            feats = captured["patches"]  # (batch, image_tokens, vision_hidden)
            labels = [patch_labels(s, model_spec.patch_size) for s in scenes]
            patch_loss = sum(
                F.cross_entropy(probes[k](feats).reshape(-1, len(PATCH_LABELS[k]) + 1),
                                torch.from_numpy(np.stack([lab[k] for lab in labels])).reshape(-1))
                for k in PATCH_LABELS) / len(PATCH_LABELS)
            loss = (answer_loss + spec.caption_loss_weight * caption_loss
                    + spec.patch_loss_weight * patch_loss + spec.lens_loss_weight * lens_loss + penalty
                    + spec.object_loss_weight * object_loss)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            opt.step()
            if bar is not None:
                bar.update(1)
                bar.set_postfix(loss=f"{loss.item():.3f}", ans=f"{answer_loss.item():.3f}",
                                patch=f"{patch_loss.item():.3f}", lens=f"{lens_loss.item():.3f}",
                                obj=f"{object_loss.item():.3f}", route=f"{penalty.item():.3f}")
            done = step + 1
            if done % spec.eval_every == 0 or done == spec.steps:
                acc = accuracy_by_task(model, processor, val)
                model.train()
                elapsed = time.perf_counter() - t0
                history.append({"step": done, "elapsed_s": round(elapsed, 1),
                                "loss": round(loss.item(), 4),
                                "val_acc": {k: round(v, 3) for k, v in acc.items()}})
                state = {"model": model.state_dict(), "probes": probes.state_dict(),
                         "opt": opt.state_dict(), "step": done, "history": history,
                         "acc": acc, "elapsed": elapsed, "train_spec": asdict(spec),
                         "model_spec": model_spec.to_dict()}
                torch.save(state, ckpt.with_suffix(".tmp"))
                ckpt.with_suffix(".tmp").replace(ckpt)  # atomic: never a half-written checkpoint
                log(json.dumps(history[-1]))
    finally:
        for hook in hooks:
            hook.remove()
        if bar is not None:
            bar.close()
    model.eval()
    return model, processor, history
