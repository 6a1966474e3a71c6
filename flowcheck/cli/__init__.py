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
import traceback

from .. import __version__
from ..errors import FlowcheckError
from ..knockout.selfcheck import SelfCheckError  # light: no torch at import
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
    validate,
)
from .args import EXIT_FAIL, EXIT_INTERNAL, EXIT_OK, EXIT_USAGE, MODEL_HELP

__all__ = ["main", "build_parser", "run_command", "EXIT_OK", "EXIT_FAIL", "EXIT_USAGE",
           "EXIT_INTERNAL", "MODEL_HELP"]
COMMANDS = (run, report, compare, matrix, sensitivity, power, ls, validate, sweep, bench, data,
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


def run_command(func, args) -> int:
    """Run one command function; map flowcheck's own errors (and OS errors) to exit 2 with
    their message, anything else to exit 3 with its traceback."""
    from ..run_folder import release_locks
    try:
        return func(args)
    except SelfCheckError as e:  # the model cannot be measured as loaded
        print(f"flowcheck: self-check failed: {e}", file=sys.stderr)
        return EXIT_USAGE
    except (FlowcheckError, OSError) as e:  # what was asked cannot be done; the message says why
        print(f"flowcheck: error: {e}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("flowcheck: interrupted; every sample measured so far is stored in the run folder: "
              "run the same command again to resume (stored samples are not measured again)",
              file=sys.stderr)
        return 130
    except Exception:  # a bug, never shown as a usage error or as "a claim fails"
        traceback.print_exc()
        print(f"flowcheck: internal error (a bug in flowcheck {__version__} or a library it uses); "
              "please report it with the traceback above", file=sys.stderr)
        return EXIT_INTERNAL
    finally:
        release_locks()
