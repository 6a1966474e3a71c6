"""Model card of the reference model: written next to the weights after training."""
from __future__ import annotations

import json
import platform
from pathlib import Path

from ..models.source import CARD_FILE


def write_card(folder: Path, *, command: str, train_spec: dict, model_spec: dict, history: list,
               eval_accuracy: dict, subset_accuracy: dict, n_eval_per_task: int,
               param_count: int, threads: int,
               limits: list[str]) -> None:
    """Write README.md (human) and flowcheck_card.json (read by tests)."""
    folder = Path(folder)
    wall = history[-1]["elapsed_s"] if history else 0.0
    card = {
        "command": command, "train_spec": train_spec, "model_spec": model_spec,
        "steps": train_spec["steps"], "wall_time_s": wall, "param_count": param_count,
        "hardware": {"machine": platform.machine(), "processor": platform.processor() or "unknown",
                     "torch_threads": threads, "python": platform.python_version()},
        "eval_accuracy": eval_accuracy, "eval_samples_per_task": n_eval_per_task,
        "subset_accuracy": subset_accuracy, "subset_samples_per_task": 30,
        "history": history, "known_limits": limits,
    }
    (folder / CARD_FILE).write_text(json.dumps(card, indent=2, sort_keys=True) + "\n")
    (folder / "README.md").write_text(render_card(card))


def render_card(card: dict) -> str:
    """The human card (README.md) from the JSON card."""
    command, train_spec, model_spec = card["command"], card["train_spec"], card["model_spec"]
    history, limits, param_count = card["history"], card["known_limits"], card["param_count"]
    eval_accuracy, subset_accuracy = card["eval_accuracy"], card["subset_accuracy"]
    n_eval_per_task, wall = card["eval_samples_per_task"], card["wall_time_s"]
    threads = card["hardware"]["torch_threads"]
    rows = "\n".join(f"| {t} | {a:.3f} ({subset_accuracy.get(t, float('nan')):.3f}) |" for t, a in eval_accuracy.items())
    curve = "\n".join(f"| {h['step']} | {h['elapsed_s'] / 60:.1f} | "
                      + " ".join(f"{v:.2f}" for v in h["val_acc"].values()) + " |" for h in history)
    route = train_spec.get("route")
    title = f"flowcheck control model: {route}-route" if route else "flowcheck reference model"
    text = f"""# {title}

A small LLaVA-architecture model (`LlavaForConditionalGeneration`: CLIP vision tower, GELU
projector, Llama language model; stock Hugging Face classes) trained by flowcheck's own
script on synthetic Pillow-rendered scenes with questions of the paper's six GQA task types.
{route_section(route, train_spec) if route else ""}
## Training command

```
{command}
```

- data seed / init seed: {train_spec['seed']}; steps: {train_spec['steps']}; batch {train_spec['batch_size']}
- wall time: {wall / 60:.1f} min on {card['hardware']['machine']} CPU, {threads} torch threads
- parameters: {param_count:,}

## Config

```json
{json.dumps(model_spec, indent=2)}
```

Training settings:

```json
{json.dumps(train_spec, indent=2)}
```

## Held-out accuracy (frozen evaluation split, {n_eval_per_task} per task; greedy first token vs gold, case-insensitive; in brackets the first 30 per task, which the test suite re-checks)

| task | accuracy |
|---|---|
{rows}

## Validation curve during training (step, minutes, accuracy per task: {', '.join(history[-1]['val_acc']) if history else ''})

| step | min | accuracies |
|---|---|---|
{curve}

## Known limits

""" + "\n".join(f"- {x}" for x in limits) + "\n"
    return text


def route_section(route: str, train_spec: dict) -> str:
    """The planted route, written from the plan the training used (shaping.ROUTES)."""
    from .shaping import ROUTES
    plan = ROUTES[route]
    rows = "\n".join(f"| {src} -> {dst} | {', '.join(map(str, layers))} |" for src, dst, layers in plan.blocks)
    lens = (f"\nLens objective: the raw logit lens of layer {plan.lens_layer}'s output at the last prompt "
            f"position is trained towards the lower-case answer (weight {train_spec.get('lens_loss_weight')}).\n"
            if plan.lens_layer is not None else "\nNo lens objective.\n")
    if plan.attention_penalty and plan.open_penalty:
        lens += (f"Attention penalty: {plan.attention_penalty:g} x the mean attention mass that the six-task "
                 "image rows would put on the edges below if they were open (the same attention "
                 "scores with the block lifted, eager attention): no row ever reads through them in "
                 "training, and at inference, with every edge open, they get little attention.\n")
    elif plan.attention_penalty:
        lens += (f"Attention penalty: {plan.attention_penalty:g} x the mean attention mass that the six-task "
                 "image rows (blocked or not) still put on the edges below, eager attention: edges "
                 "removed during training get no gradient, so without it the model keeps reading "
                 "through them at inference.\n")
    if plan.penalty_start is not None:
        lens += (f"The penalty's weight is {plan.penalty_start:g} for the first half of the steps and rises "
                 f"linearly to {plan.attention_penalty:g} by three quarters (the route is learned under a "
                 "light penalty; the leaks are pushed down once it is).\n")
    if plan.object_layer is not None:
        lens += (f"Object objective: linear probes read layer {plan.object_layer}'s output at the question's "
                 "word for each object it names and predict that object's colour, size, pattern and side "
                 f"(weight {train_spec.get('object_loss_weight')}): the model can only do so by reading "
                 "the object's own patches in the planted second stage.\n")
    if plan.vision_locality:
        lens += (f"Patch-local vision tower: in training each image patch attends to itself only in "
                 f"every vision layer (CLS reads all; LLaVA drops it), plus {plan.vision_locality:g} x the "
                 "mean attention mass a patch would put elsewhere with that mask lifted: the patches "
                 "outside the question's objects hold nothing of those objects.\n")
    rest = ("the other samples, captions and text-only rows train with\nnormal attention." if plan.share < 1
            else "captions and text-only rows train with normal attention.")
    return f"""
## Planted route ({route})

Fine-tuned from `{train_spec.get('init_from')}` with attention-edge dropout during training only: for
{plan.share:.0%} of the six-task image samples the edges below are removed in the listed layers
(through the attention interface); {rest} The shipped weights are a stock checkpoint and run with normal attention.
Summary: {plan.summary}.

| blocked flow (src -> dst) | layers (0-based) |
|---|---|
{rows}
{lens}
Verify it: `flowcheck reference check-route --model {route}-route` (whole-model knockouts,
attention mass and lens against the plan's expectations; see `route_check.EXPECTED`).
"""


def read_card(folder: Path) -> dict:
    return json.loads((Path(folder) / CARD_FILE).read_text())
