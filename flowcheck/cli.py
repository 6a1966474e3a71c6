"""Command line: ``flowcheck [--version] <command> ...``.

Heavy imports (torch, transformers) happen inside the command functions, so ``--help``
and ``--version`` stay fast. Exit codes: 0 success, 1 a claim fails (or a compared verdict
flipped), 2 a usage, input or model error (``flowcheck.errors``; the message says what to
do), 3 an internal error (a bug: shown with its traceback), 130 interrupted.
"""
from __future__ import annotations

import argparse
import json
import sys
import traceback
from pathlib import Path

from . import __version__
from .errors import DataError, FlowcheckError, UsageError
from .knockout.selfcheck import SelfCheckError  # light: no torch at import

EXIT_OK, EXIT_FAIL, EXIT_USAGE, EXIT_INTERNAL = 0, 1, 2, 3  # 1 only ever means "a claim fails"
MODEL_HELP = "a shipped model (reference, paper-route, direct-route) or a model folder"


def _int_arg(name: str):
    def parse(text: str) -> int:
        try:
            return int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"{name} must be an integer, got {text!r} (e.g. {name} 0)") from None
    return parse


def _tasks_arg(text: str) -> list[str]:
    from .data.dataset import check_tasks
    try:
        return check_tasks(t.strip() for t in text.split(",") if t.strip())
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="flowcheck",
        description="Check the cross-modal information-flow claims of Zhang et al. (CVPR 2025) "
                    "against a multimodal model.")
    p.add_argument("--version", action="version", version=f"flowcheck {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    data = sub.add_parser("data", help="synthetic GQA-style data").add_subparsers(
        dest="action", metavar="ACTION", required=True)
    gen = data.add_parser("generate", help="render a seeded synthetic split (PNGs + questions.jsonl)")
    gen.add_argument("--seed", type=_int_arg("--seed"), required=True)
    gen.add_argument("--per-task", type=_int_arg("--per-task"), default=120)
    gen.add_argument("--tasks", type=_tasks_arg, default=None, help="comma-separated task types")
    gen.add_argument("--out", type=Path, required=True)
    gen.set_defaults(func=cmd_data_generate)

    sub.add_parser("reference", add_help=False,
                   help="train, evaluate and check the shipped reference and control models "
                        "(flowcheck reference -h)")

    sw = sub.add_parser("sweep", help="knockout + logit-lens sweep of a model, summarised per task")
    sw.add_argument("--model", default="reference", help=MODEL_HELP)
    sw.add_argument("--dataset", type=Path, default=None,
                    help="dataset folder (default: synthetic eval split)")
    sw.add_argument("--samples-per-task", type=_int_arg("--samples-per-task"), default=20)
    sw.add_argument("--tasks", type=_tasks_arg, default=None, help="comma-separated task types")
    sw.add_argument("--window", type=_int_arg("--window"), default=None, help="window size k")
    sw.add_argument("--engine", choices=["fast", "exact"], default="fast")
    sw.add_argument("--lens", choices=["raw", "normed"], default="raw")
    sw.add_argument("--device", default="cpu")
    sw.add_argument("--dtype", default="float32", choices=["float32", "float16", "bfloat16"])
    sw.add_argument("--attn", choices=["eager", "sdpa"], default="eager")
    sw.add_argument("--out", type=Path, default=Path("reports/sweep"))
    sw.add_argument("--json", action="store_true", help="print the summary JSON on stdout")
    sw.set_defaults(func=cmd_sweep)

    b = sub.add_parser("bench", help="exact vs fast knockout engine, side by side")
    b.add_argument("--model", default="reference", help=MODEL_HELP)
    b.add_argument("--layout", choices=["llava15"], default=None,
                   help="use a random-weight model with this real layout instead of --model")
    b.add_argument("--samples-per-task", type=_int_arg("--samples-per-task"), default=1)
    b.add_argument("--tasks", type=_tasks_arg, default=None, help="comma-separated task types")
    b.add_argument("--flows", default=None, help="comma-separated flows (default: all six)")
    b.add_argument("--window", type=_int_arg("--window"), default=None, help="window size k")
    b.add_argument("--attn", choices=["eager", "sdpa"], default="eager")
    b.add_argument("--threads", type=_int_arg("--threads"), default=None)
    b.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    b.set_defaults(func=cmd_bench)
    _add_suite_commands(sub)
    return p


def _claims_arg(text: str) -> list[str]:
    return [c.strip() for c in text.split(",") if c.strip()]


def _add_suite_commands(sub) -> None:
    r = sub.add_parser("run", help="run the claims suite on a model and write a report")
    r.add_argument("--model", default="reference", help=MODEL_HELP)
    r.add_argument("--dataset", type=Path, default=None,
                   help="dataset folder (default: the frozen synthetic evaluation split)")
    r.add_argument("--tasks", type=_tasks_arg, default=None, help="comma-separated task types")
    r.add_argument("--claims", type=_claims_arg, default=None, help="comma-separated claim ids")
    r.add_argument("--claims-dir", type=Path, default=None, help="a folder of your own claim specs")
    r.add_argument("--max-samples", type=_int_arg("--max-samples"), default=None,
                   help="at most N samples per task type")
    r.add_argument("--engine", choices=["fast", "exact"], default="fast")
    r.add_argument("--attn", choices=["eager", "sdpa"], default=None,
                   help="attention implementation (default: sdpa for the fast engine, eager for exact)")
    r.add_argument("--threads", type=_int_arg("--threads"), default=None,
                   help="torch CPU threads (default: torch's, one per core)")
    r.add_argument("--window", type=_int_arg("--window"), default=None, help="window size k")
    r.add_argument("--noise", default=None, metavar="PP[,LENS]",
                   help="float-noise bound of the stored numbers (default: measured for float32 "
                        "on CPU; measure yours with `flowcheck compare --noise`)")
    r.add_argument("--family", default=None, help="threshold family (default: from the model)")
    r.add_argument("--device", default="cpu")
    r.add_argument("--dtype", default="float32", choices=["float32", "float16", "bfloat16"])
    r.add_argument("--out", type=Path, default=Path("reports/latest"), help="run folder")
    r.add_argument("--json", action="store_true", help="print the verdicts JSON on stdout")
    r.set_defaults(func=cmd_run)

    rep = sub.add_parser("report", help="re-judge and re-render a run folder (no model)")
    rep.add_argument("run_dir", type=Path)
    rep.add_argument("--json", action="store_true")
    rep.set_defaults(func=cmd_report)

    cmp_ = sub.add_parser("compare", help="verdict flips and curve changes between two runs")
    cmp_.add_argument("run_a", type=Path)
    cmp_.add_argument("run_b", type=Path)
    cmp_.add_argument("--tolerance", type=float, default=5.0,
                      help="report curve changes above this many percentage points")
    cmp_.add_argument("--noise", action="store_true",
                      help="runs that should agree (other threads, kernel, engine or machine): "
                           "the largest difference of every stored and verdict number")
    cmp_.add_argument("--json", action="store_true")
    cmp_.set_defaults(func=cmd_compare)

    mx = sub.add_parser("matrix", help="claim x model table from several run folders (no model)")
    mx.add_argument("runs", nargs="+", metavar="LABEL=RUN_DIR",
                    help="a label and a run folder written by `flowcheck run`, "
                         "e.g. natural=reports/demo/natural")
    mx.add_argument("--out", type=Path, required=True, help="folder for matrix.md and matrix.json")
    mx.add_argument("--json", action="store_true")
    mx.set_defaults(func=cmd_matrix)

    se = sub.add_parser("sensitivity", help="verdicts and margins vs samples per task and k, "
                        "re-judged from run folders (no model)")
    se.add_argument("runs", nargs="+", type=Path, metavar="RUN_DIR",
                    help="run folders of `flowcheck run` (one model and one --window each)")
    se.add_argument("--n", type=lambda t: [int(x) for x in t.split(",")], default=[10, 30, 100],
                    help="samples per task type to judge on, comma-separated (default: 10,30,100)")
    se.add_argument("--claims", type=_claims_arg, default=None,
                    help="claim ids (default: the main knockout claims)")
    se.add_argument("--out", type=Path, default=None, help="write the markdown table here too")
    se.add_argument("--json", action="store_true")
    se.set_defaults(func=cmd_sensitivity)

    ls = sub.add_parser("ls", help="list claims, models or datasets")
    ls.add_argument("what", choices=["claims", "models", "datasets"])
    ls.add_argument("--claims-dir", type=Path, default=None)
    ls.set_defaults(func=cmd_ls)

    val = sub.add_parser("validate", help="check claim specs (the library, a folder or a file)")
    val.add_argument("path", type=Path, nargs="?", default=None)
    val.set_defaults(func=cmd_validate)


def _print_verdicts(result, as_json: bool) -> int:
    from .report.verdicts import dumps, verdicts_to_dict
    if as_json:
        print(dumps(verdicts_to_dict(result.verdicts)), end="")
    else:
        print((result.run_dir / "summary.md").read_text())
        print(f"report: {result.run_dir / 'report.html'}")
    return EXIT_OK if result.all_hold else EXIT_FAIL


def cmd_run(args) -> int:
    from .suite import run_suite
    result = run_suite(model=args.model, dataset=args.dataset, tasks=args.tasks, claims=args.claims,
                       claims_dir=args.claims_dir, max_samples=args.max_samples, engine=args.engine,
                       k=args.window, out=args.out, device=args.device, dtype=args.dtype,
                       family=args.family, attn=args.attn, threads=args.threads, noise=args.noise)
    return _print_verdicts(result, args.json)


def cmd_report(args) -> int:
    from .suite import judge_run
    return _print_verdicts(judge_run(args.run_dir), args.json)


def cmd_compare(args) -> int:
    from .compare import compare_runs, format_comparison
    if args.noise:
        from .noise import differences, format_differences
        d = differences(args.run_a, args.run_b)
        print(json.dumps(d, sort_keys=True) if args.json else format_differences(d))
        return EXIT_FAIL if d["verdicts"]["flips"] else EXIT_OK
    result = compare_runs(args.run_a, args.run_b, args.tolerance)
    print(json.dumps(result, sort_keys=True) if args.json else format_comparison(result))
    return EXIT_FAIL if result["flips"] else EXIT_OK


def _label_dir(text: str) -> tuple[str, Path]:
    label, sep, folder = text.partition("=")
    if not sep or not label or not folder:
        raise UsageError(f"run {text!r} is not LABEL=RUN_DIR; write e.g. natural=reports/demo/natural")
    return label, Path(folder)


def cmd_matrix(args) -> int:
    from .report.matrix import MATRIX_MD, write_matrix
    runs = dict(_label_dir(t) for t in args.runs)
    matrix = write_matrix(runs, args.out)
    print(json.dumps(matrix, sort_keys=True) if args.json else (args.out / MATRIX_MD).read_text())
    return EXIT_OK


def cmd_sensitivity(args) -> int:
    from .report.sensitivity import MAIN_CLAIMS, render_sensitivity, sensitivity
    rows = sensitivity(args.runs, args.claims or MAIN_CLAIMS, args.n)
    text = render_sensitivity(rows)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text)
    print(json.dumps(rows, sort_keys=True) if args.json else text)
    return EXIT_OK


def cmd_ls(args) -> int:
    if args.what == "claims":
        from .claims.spec import LIBRARY, load_claims
        for s in load_claims([LIBRARY] + ([args.claims_dir] if args.claims_dir else [])):
            print(f"{s.id:<36} v{s.version}  {s.analysis:<13} {s.summary[:70]}")
    elif args.what == "models":
        from .models.loading import NAMED_MODELS
        from .paths import FIXTURES
        for name, path in NAMED_MODELS.items():
            print(f"{name:<16} {path}{'' if path.is_dir() else '  (missing)'}")
        for path in sorted((FIXTURES / "models").glob("*")):
            if path.is_dir() and path not in NAMED_MODELS.values():
                print(f"{path.name:<16} {path}")
    else:
        from .paths import FIXTURES
        for path in sorted((FIXTURES / "data").glob("*")):
            if path.is_dir():
                print(f"{path.name:<16} {path}")
    return EXIT_OK


def cmd_validate(args) -> int:
    from .claims.spec import LIBRARY, SpecError, load_claims, load_spec
    path = args.path or LIBRARY
    try:
        specs = [load_spec(path)] if path.is_file() else load_claims([path])
    except SpecError as e:
        print(f"flowcheck: invalid claim spec: {e}", file=sys.stderr)
        return EXIT_USAGE
    for s in specs:
        print(f"ok  {s.id} v{s.version} ({len(s.conditions)} conditions)")
    print(f"{len(specs)} claim spec(s) valid in {path}")
    return EXIT_OK


def cmd_sweep(args) -> int:
    from .data import dataset
    from .models.handle import load_handle
    from .paths import EVAL_SPLIT
    from .sweep import format_summary, run_sweep, write_sweep
    samples = dataset.load(args.dataset or EVAL_SPLIT, tasks=args.tasks, max_per_task=args.samples_per_task)
    if not samples:
        raise DataError(f"no samples in {args.dataset or EVAL_SPLIT} for tasks {args.tasks}")
    handle = load_handle(args.model, device=args.device, dtype=args.dtype, attn_implementation=args.attn)
    summary = run_sweep(handle, samples, k=args.window, engine=args.engine, lens_variant=args.lens)
    path = write_sweep(summary, args.out)
    if args.json:
        print(json.dumps(summary, sort_keys=True))
    else:
        print(format_summary(summary))
        print(f"wrote {path}")
    return EXIT_OK


def cmd_bench(args) -> int:
    import torch

    from .bench import compare_engines
    from .data import dataset
    from .knockout.flows import FLOWS, parse_flow
    from .paths import EVAL_SPLIT
    flows = [parse_flow(f.strip()).name for f in args.flows.split(",")] if args.flows else list(FLOWS)
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.layout:
        from .models.layouts import build_layout_handle
        handle = build_layout_handle(args.layout, attn_implementation=args.attn)
    else:
        from .models.handle import load_handle
        handle = load_handle(args.model, attn_implementation=args.attn)
    samples = dataset.load(EVAL_SPLIT, tasks=args.tasks, max_per_task=args.samples_per_task)
    result = compare_engines(handle, samples, flows, args.window)
    if args.json:
        print(json.dumps(result, sort_keys=True))
    else:
        for key, value in result.items():
            print(f"{key:>22}: {value}")
    return EXIT_OK


def cmd_data_generate(args) -> int:
    from .data import dataset
    samples = dataset.generate(args.seed, args.per_task, args.tasks or dataset.TASKS)
    out = dataset.save(samples, args.out)
    print(f"wrote {len(samples)} samples to {out}")
    return EXIT_OK


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["reference"]:  # the model factory's commands: imported only when asked for
        from .reference.cli import main as reference_main
        return reference_main(argv[1:])
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return EXIT_USAGE
    return run_command(args.func, args)


def run_command(func, args) -> int:
    """Run one command function; map flowcheck's own errors (and OS errors) to exit 2 with
    their message, anything else to exit 3 with its traceback."""
    try:
        return func(args)
    except SelfCheckError as e:  # the model cannot be measured as loaded
        print(f"flowcheck: self-check failed: {e}", file=sys.stderr)
        return EXIT_USAGE
    except (FlowcheckError, OSError) as e:  # what was asked cannot be done; the message says why
        print(f"flowcheck: error: {e}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("flowcheck: interrupted; a rerun resumes where it stopped", file=sys.stderr)
        return 130
    except Exception:  # a bug, never shown as a usage error or as "a claim fails"
        traceback.print_exc()
        print(f"flowcheck: internal error (a bug in flowcheck {__version__} or a library it uses); "
              "please report it with the traceback above", file=sys.stderr)
        return EXIT_INTERNAL

if __name__ == "__main__":
    raise SystemExit(main())
