"""flowcheck init: the few pytest settings a repository needs to run the claims as tests."""
from __future__ import annotations

from pathlib import Path

from .args import EXIT_OK, EXIT_USAGE, command

EXAMPLES = ["flowcheck init --model llava-hf/llava-1.5-7b-hf",
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


# pytest's own config files, in the order it reads them, with the section it reads in each
CONFIG_FILES = (("pytest.ini", None), (".pytest.ini", None), ("pyproject.toml", "[tool.pytest.ini_options]"),
                ("tox.ini", "[pytest]"), ("setup.cfg", "[tool:pytest]"))


def pytest_config(folder: Path) -> tuple[Path, str] | None:
    """(file, section) of the file pytest would read its settings from in ``folder``, or None
    (a tox.ini or setup.cfg without a pytest section is not one)."""
    for name, section in CONFIG_FILES:
        path = folder / name
        if path.is_file() and (section is None or section in path.read_text(errors="replace")):
            return path, section or "[pytest]"
    return None


def settings_for(section: str, text: str) -> str:
    """The settings' lines as they must be written in ``section``: TOML strings for
    pyproject.toml, ini lines elsewhere."""
    lines = text.splitlines()[1:]
    if section != "[tool.pytest.ini_options]":
        return "\n".join(lines)
    out = []
    for line in lines:
        key, sep, value = line.partition(" = ")
        out.append(f'{key} = "{value}"' if sep and not line.startswith("#") else line)
    return "\n".join(out)


def cmd(args) -> int:
    text = SETTINGS.format(model=args.model, report_dir=args.report_dir)
    found = pytest_config(args.dir)
    if found is not None:
        where, section = found
        print(f"{where} already configures pytest; flowcheck does not edit it. Add these lines to "
              f"its {section} section:\n{settings_for(section, text)}")
        return EXIT_USAGE
    ini = args.dir / "pytest.ini"
    ini.write_text(text)
    print(f"wrote {ini}: `pytest` now runs every built-in claim on {args.model} "
          f"(reports in {args.report_dir}); `pytest -k <claim>` runs one; "
          "`pytest --flowcheck-update-baselines` records the model's baselines")
    return EXIT_OK
