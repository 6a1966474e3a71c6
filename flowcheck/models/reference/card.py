"""Model card of the reference model: written next to the weights after training."""
from __future__ import annotations

import json
import platform
from pathlib import Path

CARD_JSON = "flowcheck_card.json"


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
    (folder / CARD_JSON).write_text(json.dumps(card, indent=2, sort_keys=True) + "\n")
    rows = "\n".join(f"| {t} | {a:.3f} ({subset_accuracy.get(t, float('nan')):.3f}) |" for t, a in eval_accuracy.items())
    curve = "\n".join(f"| {h['step']} | {h['elapsed_s'] / 60:.1f} | "
                      + " ".join(f"{v:.2f}" for v in h["val_acc"].values()) + " |" for h in history)
    text = f"""# flowcheck reference model

A small LLaVA-architecture model (`LlavaForConditionalGeneration`: CLIP vision tower, GELU
projector, Llama language model; stock Hugging Face classes) trained by flowcheck's own
script on synthetic Pillow-rendered scenes with questions of the paper's six GQA task types.

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
    (folder / "README.md").write_text(text)


def read_card(folder: Path) -> dict:
    return json.loads((Path(folder) / CARD_JSON).read_text())
