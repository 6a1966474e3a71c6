"""flowcheck reference: train, evaluate and check the shipped reference and control
models. Dispatched from ``flowcheck.cli.main``; the core never imports this package.

Examples:
  flowcheck reference train --out runs/my-reference --steps 2000
  flowcheck reference train --route paper --init-from reference --out runs/my-paper-route
  flowcheck reference check-route --model paper-route
  flowcheck reference eval --model direct-route --per-task 30
"""
from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path

from ..cli.args import EXIT_FAIL, EXIT_OK, MODEL_HELP, int_arg, run_command
from ..errors import UsageError
from .shaping import ROUTES


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="flowcheck reference", description=__doc__.split("\n\n")[0],
                                epilog=__doc__.split("\n\n", 1)[1],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    ref = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    tr = ref.add_parser("train", help="train the reference model on CPU (resumable)")
    tr.add_argument("--seed", type=int_arg("--seed"), default=0)
    tr.add_argument("--steps", type=int_arg("--steps"), default=None,
                    help="training steps (default: the shipped model's)")
    tr.add_argument("--batch-size", type=int_arg("--batch-size"), default=None)
    tr.add_argument("--lr", type=float, default=None,
                    help="peak learning rate (default: the shipped model's)")
    tr.add_argument("--threads", type=int_arg("--threads"), default=2)
    tr.add_argument("--out", type=Path, required=True, help="model folder to write")
    tr.add_argument("--no-resume", action="store_true", help="ignore a checkpoint in --out")
    tr.add_argument("--route", choices=list(ROUTES), default=None,
                    help="plant a route by attention-edge dropout during training (control models)")
    tr.add_argument("--init-from", default=None,
                    help="fine-tune from this model folder ('reference') instead of a fresh init")
    tr.set_defaults(func=cmd_reference_train)

    rc = ref.add_parser("check-route", help="verify a control model's planted route directly "
                        "(whole-model knockouts, attention mass, lens; not the claims)")
    rc.add_argument("--model", required=True,
                    help="a control model: 'paper-route', 'direct-route' or a folder")
    rc.add_argument("--route", choices=list(ROUTES), default=None,
                    help="the planted route (default: from the model card)")
    rc.add_argument("--per-task", type=int_arg("--per-task"), default=20)
    rc.add_argument("--leaks", action="store_true",
                    help="also show, per edge block of the route's plan, the attention mass left on it "
                    "with normal attention, and accuracy with the whole plan removed (diagnostic; "
                    "does not change the exit status)")
    rc.add_argument("--json", action="store_true")
    rc.set_defaults(func=cmd_reference_check_route)

    ev = ref.add_parser("eval", help="held-out accuracy per task type")
    ev.add_argument("--model", default="reference", help=MODEL_HELP)
    ev.add_argument("--dataset", type=Path, default=None,
                    help="dataset folder (default: the frozen synthetic evaluation split)")
    ev.add_argument("--per-task", type=int_arg("--per-task"), default=None)
    ev.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    ev.set_defaults(func=cmd_reference_eval)

    return p


def cmd_reference_train(args) -> int:
    from dataclasses import replace

    from .pipeline import train_and_save
    from .train import TrainSpec
    spec = TrainSpec(seed=args.seed, threads=args.threads, route=args.route,
                     init_from=str(args.init_from) if args.init_from else None)
    if args.steps is not None:
        spec = replace(spec, steps=args.steps)
    if args.batch_size is not None:
        spec = replace(spec, batch_size=args.batch_size)
    if args.lr is not None:
        if not 0 < args.lr < 1:
            raise UsageError(f"--lr must be a learning rate between 0 and 1, got {args.lr}; "
                             "the shipped models use 5e-4 (reference) and 3e-4 (control fine-tunes)")
        spec = replace(spec, lr=args.lr)
    command = "flowcheck " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    acc = train_and_save(args.out, spec, command=command, resume=not args.no_resume)
    print(json.dumps(acc, indent=2))
    return EXIT_OK


def cmd_reference_check_route(args) -> int:
    from ..data import dataset
    from ..models.handle import load_handle
    from ..models.source import read_source
    from ..paths import EVAL_SPLIT
    from .route_check import (
        check_route_measurements,
        format_leaks,
        measure_leaks,
        measure_routes,
    )
    route = args.route
    if route is None:
        card = read_source(args.model).card
        route = card["train_spec"].get("route") if card else None
        if route is None:
            raise UsageError(f"model {args.model!r} has no planted route in its card; pass --route "
                             "paper|direct to check it against one")
    handle = load_handle(args.model, attn_implementation="eager")
    samples = dataset.load(EVAL_SPLIT, max_per_task=args.per_task)
    measured = measure_routes(handle, samples)
    rows = check_route_measurements(route, measured)
    leaks = measure_leaks(handle, samples, route) if args.leaks else None
    if args.json:
        out = {"route": route, "measured": measured,
               "checks": [dict(zip(("measurement", "value", "expected", "ok"), r)) for r in rows]}
        if leaks is not None:
            out["leaks"] = leaks
        print(json.dumps(out, sort_keys=True))
    else:
        print(f"model {args.model}, planted route {route!r}, {measured['n']} correctly answered samples")
        for m, value, expected, ok in rows:
            print(f"  {'ok  ' if ok else 'FAIL'} {m:<22} {value:+9.3f}   expected {expected}")
        if leaks is not None:
            print("leaks: attention mass left on the plan's removed edges (normal attention)")
            print("\n".join(format_leaks(leaks)))
    return EXIT_OK if all(r[3] for r in rows) else EXIT_FAIL


def cmd_reference_eval(args) -> int:
    from ..data import dataset
    from ..models.loading import load_model
    from ..paths import EVAL_SPLIT
    from .evaluate import accuracy_by_task
    samples = dataset.load(args.dataset or EVAL_SPLIT, max_per_task=args.per_task)
    model, processor = load_model(args.model)
    acc = accuracy_by_task(model, processor, samples)
    if args.json:
        print(json.dumps({"model": str(args.model), "n": len(samples), "accuracy": acc}, sort_keys=True))
    else:
        print(f"model {args.model}: {len(samples)} samples")
        for task, a in acc.items():
            print(f"  {task:<12} {a:6.1%}")
    return EXIT_OK


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return run_command(args.func, args)
