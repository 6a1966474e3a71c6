"""flowcheck run: measure what the claims need on a model, judge, write a report."""
from __future__ import annotations

from pathlib import Path

from ..measure.configs import ENGINES
from ..models.prompts import PROMPTS
from .args import ATTENTION, add_dataset, add_device, add_model, claims_arg, command, int_arg
from .report import add_uncertain, print_verdicts

EXAMPLES = ["flowcheck run --model reference --out reports/ref",
            "flowcheck run --model /models/llava-1.5-7b-hf --max-samples 100 --device cuda "
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
    r.add_argument("--family", default=None, help="threshold family (default: from the model)")
    r.add_argument("--prompt", default=None, choices=list(PROMPTS),
                   help="prompt template (default: the one the paper's code uses for the checkpoint)")
    r.add_argument("--preprocess", default="paper", choices=["paper", "checkpoint"],
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
    r.add_argument("--device-map", default=None, choices=["auto"],
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


def cmd(args) -> int:
    from ..runs.settings import RunSettings
    from ..suite import run_suite
    settings = RunSettings.from_strings({  # the settings object the pytest plugin uses too
        "model": args.model, "dataset": args.dataset, "device": args.device, "dtype": args.dtype,
        "max_samples": args.max_samples, "tasks": ",".join(args.tasks) if args.tasks else None,
        "window": args.window, "report_dir": str(args.out), "engine": args.engine, "noise": args.noise,
        "claims_dir": str(args.claims_dir) if args.claims_dir else None,
        "uncertain": args.uncertain}, prefix="--")
    if args.dry_run or args.calibrate:
        return dry_run(args, settings)
    result = run_suite(**settings.run_kwargs(claims=args.claims), family=args.family, attn=args.attn,
                       threads=args.threads, prompt=args.prompt, preprocess=args.preprocess,
                       allow_pickle=args.allow_pickle, shard=args.shard, batch_size=args.batch_size,
                       device_map=args.device_map)
    return print_verdicts(result, args.json, settings.uncertain)


def dry_run(args, settings) -> int:
    """``--dry-run``: the plan, without weights (``--calibrate N``: timed on the device)."""
    import json

    from ..runs.planning import plan_run, render_plan
    kw = settings.run_kwargs(claims=args.claims)
    plan = plan_run(model=kw["model"], dataset=kw["dataset"], tasks=kw["tasks"], claims=kw["claims"],
                    claims_dir=kw["claims_dir"], max_samples=kw["max_samples"], engine=kw["engine"],
                    k=kw["k"], family=args.family, prompt=args.prompt, preprocess=args.preprocess,
                    calibrate_n=args.calibrate, device=kw["device"], dtype=kw["dtype"], attn=args.attn)
    print(json.dumps(plan.to_dict(), indent=1, sort_keys=True) if args.json
          else render_plan(plan, kw["engine"]))
    return 0
