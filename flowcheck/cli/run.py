"""flowcheck run: measure what the claims need on a model, judge, write a report."""
from __future__ import annotations

from pathlib import Path

from ..measure.configs import ENGINES
from ..models.prompts import prompt_names
from .args import (
    ATTENTION,
    DEVICE_MAPS,
    PREPROCESS,
    add_dataset,
    add_device,
    add_model,
    claims_arg,
    command,
    int_arg,
    model_with_revision,
)
from .report import add_uncertain, print_verdicts

EXAMPLES = ["flowcheck run --model reference --out reports/ref",
            "flowcheck run --model llava-hf/llava-1.5-7b-hf --max-samples 100 --device cuda "
            "--dtype float16 --out reports/llava7b",
            "flowcheck run --model DIR --tasks ChooseAttr,QueryAttr --claims question_to_last_middle"]


def add_parser(sub) -> None:
    r = command(sub, "run", "run the claims suite on a model and write a report", EXAMPLES)
    add_model(r)
    add_dataset(r)
    r.add_argument("--claims", type=claims_arg, default=None, help="comma-separated claim ids")
    r.add_argument("--claims-dir", type=Path, default=None, help="a folder of your own claim specs")
    r.add_argument("--max-samples", type=int_arg("--max-samples"), default=None,
                   help="at most N samples per task type")
    r.add_argument("--engine", choices=list(ENGINES), default="fast")
    r.add_argument("--attn", choices=ATTENTION, default=None,
                   help="attention implementation (default: sdpa for the fast engine, eager for exact)")
    r.add_argument("--threads", type=int_arg("--threads"), default=None,
                   help="torch CPU threads (default: torch's, one per core)")
    r.add_argument("--window", type=int_arg("--window"), default=None, help="window size k")
    r.add_argument("--noise", default=None, metavar="PP[,LENS]",
                   help="float-noise bound of the stored numbers (default: measured for float32 "
                        "on CPU; measure yours with `flowcheck compare --noise`)")
    r.add_argument("--base", default=None,
                   help="with a LoRA adapter folder as --model: the base model it adapts (a folder or Hub "
                        "id; default: the adapter config's base_model_name_or_path)")
    r.add_argument("--family", default=None, help="threshold family (default: from the model)")
    r.add_argument("--prompt", default=None, choices=prompt_names(),
                   help="prompt template (default: the one the paper's code uses for the checkpoint; "
                        "'chat': the checkpoint's own chat template around the paper's user turn)")
    r.add_argument("--preprocess", default="paper", choices=PREPROCESS,
                   help="image preprocessing: 'paper' (LLaVA-1.5: pad to a square, as the paper's "
                        "code; default) or 'checkpoint' (the saved processor's own settings)")
    r.add_argument("--allow-pickle", action="store_true",
                   help="read pickle weights (pytorch_model.bin; they can run code when loaded). "
                        "Default: safetensors only")
    add_device(r)
    r.add_argument("--out", type=Path, default=Path("reports/latest"), help="run folder")
    r.add_argument("--json", action="store_true", help="print the verdicts JSON on stdout")
    add_uncertain(r)
    r.add_argument("--batch-size", type=int_arg("--batch-size"), default=None, metavar="B",
                   help="knockout configs per forward (default: exact engine 1, fast engine a whole "
                        "group); results equal within float rounding, throughput differs")
    r.add_argument("--device-map", default=None, choices=DEVICE_MAPS,
                   help="spread a model larger than one GPU over the visible GPUs (needs accelerate: "
                        "pip install 'flowcheck[multi-gpu]'); --device is then ignored")
    r.add_argument("--shard", default=None, metavar="I/N",
                   help="measure shard I of N (0-based) into the same --out (a SLURM array: "
                        "--shard $SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_COUNT); default: the launcher's "
                        "RANK/WORLD_SIZE (torchrun, accelerate), else the whole run")
    r.add_argument("--dry-run", action="store_true",
                   help="print the plan (samples, token counts, configs, forward-equivalents) without "
                        "loading weights, and exit")
    r.add_argument("--calibrate", type=int_arg("--calibrate"), default=0, metavar="N",
                   help="with --dry-run: load the model and time N samples on --device to project the "
                        "run's wall time and peak memory")
    r.set_defaults(func=cmd)


SETTINGS = ("model", "dataset", "tasks", "claims", "claims_dir", "max_samples", "engine", "window",
            "out", "device", "dtype", "family", "attn", "threads", "noise", "prompt", "preprocess",
            "allow_pickle", "batch_size", "device_map", "uncertain", "shard", "base")


def settings_from(args):
    """The run's ``RunSettings`` from the parsed arguments (errors name the option)."""
    from ..runs.settings import RunSettings
    values = {name: getattr(args, name) for name in SETTINGS}
    return RunSettings.create({n: "--" + n.replace("_", "-") for n in SETTINGS},
                              **{k: v for k, v in values.items() if v is not None})


def cmd(args) -> int:
    from ..suite import run_suite
    args.model = model_with_revision(args)
    settings = settings_from(args)  # the settings object the pytest plugin and flowcheck.run use too
    if args.dry_run or args.calibrate:
        return dry_run(args, settings)
    return print_verdicts(run_suite(settings), args.json, settings.uncertain)


def dry_run(args, settings) -> int:
    """``--dry-run``: the plan, without weights (``--calibrate N``: timed on the device)."""
    import json

    from ..runs.planning import plan_run, render_plan
    plan = plan_run(settings, calibrate_n=args.calibrate)
    print(json.dumps(plan.to_dict(), indent=1, sort_keys=True) if args.json
          else render_plan(plan, settings.engine))
    return 0
