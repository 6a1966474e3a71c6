"""Command line: ``flowcheck [--version] <command> ...``, one module per command.

Heavy imports (torch, transformers) happen inside the command functions, so ``--help``,
``--version``, ``ls`` and ``validate`` stay fast. Exit codes: 0 success; 1 a claim fails (or
a compared verdict flipped); 2 a usage, input or model error (``flowcheck.errors``; the
message says what to do); 3 an internal error (a bug: shown with its traceback); 130
interrupted. ``flowcheck reference ...`` (the model factory) is dispatched to
``flowcheck.reference.cli`` and imported only when asked for.
"""
from __future__ import annotations

import argparse
import sys

from .._version import __version__
from . import (
    bench,
    compare,
    data,
    expect,
    fixtures,
    gpu_check,
    init,
    ls,
    matrix,
    power,
    report,
    run,
    sensitivity,
    sweep,
    trend,
    validate,
)
from .args import EXIT_USAGE, run_command

__all__ = ["main", "build_parser"]
COMMANDS = (run, report, compare, matrix, trend, sensitivity, power, ls, validate, sweep, bench, data,
            fixtures, init, expect, gpu_check)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="flowcheck",
        description="Check the cross-modal information-flow claims of Zhang et al. (CVPR 2025) "
                    "against a multimodal model.")
    p.add_argument("--version", action="version", version=f"flowcheck {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    for module in COMMANDS:
        module.add_parser(sub)
    sub.add_parser("reference", add_help=False,
                   help="train, evaluate and check the shipped reference and control models "
                        "(flowcheck reference -h)")
    return p


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["reference"]:  # the model factory's commands: imported only when asked for
        from ..reference.cli import main as reference_main
        return reference_main(argv[1:])
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return EXIT_USAGE
    return run_command(args.func, args)
