"""flowcheck init: the few pytest settings a repository needs to run the claims as tests."""
from __future__ import annotations

from pathlib import Path

from .args import EXIT_OK, EXIT_USAGE, command

EXAMPLES = ["flowcheck init --model /models/llava-1.5-7b-hf",
            "flowcheck init --model reference --report-dir reports/flowcheck --dir my_repo"]
SETTINGS = """[pytest]
# flowcheck: the paper's claims collected as tests (no test file needed)
flowcheck_collect = true
flowcheck_model = {model}
flowcheck_report_dir = {report_dir}
# a model's known findings (`flowcheck expect RUN_DIR --out flowcheck-expectations/<model>.yaml`)
flowcheck_expectations = flowcheck-expectations
# a model's recorded verdicts (`pytest --snapshot-update` or `--flowcheck-update-baselines`)
flowcheck_baselines = flowcheck-baselines
# an uncertain verdict (95% interval straddles the threshold): fail | allow
flowcheck_uncertain = fail
"""


def add_parser(sub) -> None:
    p = command(sub, "init", "write the pytest settings that run the claims as tests here", EXAMPLES)
    p.add_argument("--model", default="reference", help="the model folder the tests check")
    p.add_argument("--report-dir", default="reports/flowcheck", help="run folder of the test session")
    p.add_argument("--dir", type=Path, default=Path("."), help="the repository (default: here)")
    p.set_defaults(func=cmd)


def cmd(args) -> int:
    text = SETTINGS.format(model=args.model, report_dir=args.report_dir)
    ini = args.dir / "pytest.ini"
    pyproject = args.dir / "pyproject.toml"
    other = [p for p in (ini, args.dir / "tox.ini", args.dir / "setup.cfg") if p.is_file()]
    if other or (pyproject.is_file() and "[tool.pytest" in pyproject.read_text()):
        where = other[0] if other else pyproject
        print(f"{where} already configures pytest; flowcheck does not edit it. Add to its pytest "
              "section:\n" + "\n".join(text.splitlines()[1:]))
        return EXIT_USAGE
    ini.write_text(text)
    print(f"wrote {ini}: `pytest` now runs every built-in claim on {args.model} "
          f"(reports in {args.report_dir}); `pytest -k <claim>` runs one; "
          "`pytest --flowcheck-update-baselines` records the model's baselines")
    return EXIT_OK
