"""flowcheck gpu-check: the GPU lane in one command, figures in one JSON.

Runs the repository's GPU tests (``pytest -m flowcheck_gpu --flowcheck-require-gpu``, when
``--tests`` exists: a checkout of flowcheck) and the engine benchmarks at the paper
checkpoints' real widths on CUDA, then writes ``gpu-check.json`` with the environment, the
test outcome and every figure. Installs nothing; needs a CUDA build of torch.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from .args import EXIT_FAIL, EXIT_OK, EXIT_USAGE, command

EXAMPLES = ["flowcheck gpu-check --out reports/gpu-check", "flowcheck gpu-check --dtype bfloat16"]
BENCHES = [("llava-1.5-7b", None), ("llava-v1.6-vicuna-7b", (500, 375))]


def add_parser(sub) -> None:
    p = command(sub, "gpu-check", "run the GPU tests and full-width benchmarks, write one JSON",
                EXAMPLES)
    p.add_argument("--out", type=Path, default=Path("reports/gpu-check"))
    p.add_argument("--tests", type=Path, default=Path("tests/gpu"),
                   help="the GPU tests of a flowcheck checkout (skipped when absent)")
    p.add_argument("--dtype", default="float16", choices=["float16", "bfloat16"])
    p.set_defaults(func=cmd)


def cmd(args) -> int:
    import torch

    from ..data.dataset import load, place_on_canvas
    from ..measure.bench import compare_engines
    from ..models.fixtures.bench_layouts import build_layout_handle
    from ..paths import EVAL_SPLIT
    from ..runs.environment import environment
    if not torch.cuda.is_available():
        print(f"flowcheck gpu-check: no CUDA GPU visible (torch {torch.__version__}, CUDA build: "
              f"{torch.version.cuda or 'none'}); install a CUDA build of torch (docs/gpu.md: Running on a "
              "GPU) on a machine with a GPU", file=sys.stderr)
        return EXIT_USAGE
    args.out.mkdir(parents=True, exist_ok=True)
    figures_file = args.out / "figures.jsonl"
    figures_file.unlink(missing_ok=True)
    report = {"environment": environment("cuda"), "gpus": torch.cuda.device_count()}
    if args.tests.is_dir():
        proc = subprocess.run([sys.executable, "-m", "pytest", str(args.tests), "-m", "flowcheck_gpu",
                               "--flowcheck-require-gpu", "-q", "-p", "no:cacheprovider"],
                              env=dict(os.environ, FLOWCHECK_GPU_FIGURES=str(figures_file)),
                              capture_output=True, text=True)
        report["tests"] = {"exit_code": proc.returncode, "summary": proc.stdout.strip().splitlines()[-1:]}
        print(proc.stdout[-3000:])
    report["test_figures"] = ([json.loads(line) for line in figures_file.read_text().splitlines()]
                              if figures_file.is_file() else [])
    report["benchmarks"] = []
    for name, canvas in BENCHES:
        handle = build_layout_handle(name, device="cuda", dtype=args.dtype, real_width=True)
        samples = load(EVAL_SPLIT, max_per_task=1)
        if canvas:
            samples = [place_on_canvas(s, *canvas) for s in samples]
        result = compare_engines(handle, samples)
        report["benchmarks"].append(result)
        print(f"{name}: fast {result['fast_s']} s, exact {result['exact_s']} s for {len(samples)} samples "
              f"(x{result['speedup']}); paper protocol projected {result['projected_hours_fast']} h fast, "
              f"{result['projected_hours_exact']} h exact; peak {result['peak_gpu_mb_fast']} MiB")
        del handle
        torch.cuda.empty_cache()
    (args.out / "gpu-check.json").write_text(json.dumps(report, indent=1, sort_keys=True) + "\n")
    print(f"wrote {args.out / 'gpu-check.json'}")
    return EXIT_OK if report.get("tests", {}).get("exit_code", 0) == 0 else EXIT_FAIL
