"""What every command shares: exit codes, argument types and helpers, one ``--model`` help
text, and sub-parsers that end with examples."""
from __future__ import annotations

import argparse
import sys
import traceback
from pathlib import Path

from .._version import __version__
from ..errors import FlowcheckError, UsageError
from ..measure.selfcheck import SelfCheckError  # light: no torch at import
from ..runs.settings import ATTENTION, DEVICE_MAPS, DTYPES, PREPROCESS  # noqa: F401  (option choices)

EXIT_OK, EXIT_FAIL, EXIT_USAGE, EXIT_INTERNAL = 0, 1, 2, 3  # 1 only ever means "a claim fails"
MODEL_HELP = ("a shipped model (reference, paper-route, direct-route), a model folder, or a Hugging Face "
              "Hub id (ORG/NAME or ORG/NAME@REVISION; from the cache when HF_HUB_OFFLINE=1)")


def command(sub, name: str, help: str, examples: list[str]) -> argparse.ArgumentParser:
    """A sub-command parser whose help ends with examples."""
    return sub.add_parser(name, help=help, description=help[0].upper() + help[1:] + ".",
                          epilog="examples:\n" + "\n".join(f"  {e}" for e in examples),
                          formatter_class=argparse.RawDescriptionHelpFormatter)


def int_arg(name: str):
    def parse(text: str) -> int:
        try:
            return int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"{name} must be an integer, got {text!r} (e.g. {name} 0)") from None
    return parse


def tasks_arg(text: str) -> list[str]:
    from ..data.dataset import check_tasks
    try:
        return check_tasks(t.strip() for t in text.split(",") if t.strip())
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def int_list(text: str) -> list[int]:
    """'10,30,100' -> [10, 30, 100]: positive integers (argparse names the option)."""
    try:
        values = [int(x) for x in text.split(",")]
    except ValueError:
        values = []
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(f"must be positive integers, comma-separated (e.g. 10,30,100), "
                                         f"got {text!r}")
    return values


def positive_int(text: str) -> int:
    """A count of at least 1 (argparse names the option)."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text!r}")
    return value


def print_table(args, rows: list, text: str) -> int:
    """A table command's output: the markdown ``text`` (also written to ``--out``), or the
    ``rows`` as JSON with ``--json``."""
    import json
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text)
    print(json.dumps(rows, sort_keys=True) if args.json else text)
    return EXIT_OK


def add_table_options(p, n_help: str) -> None:
    """``--n``, ``--claims``, ``--out``, ``--json`` of the commands that re-judge stored runs
    into a table (sensitivity, power)."""
    p.add_argument("--n", type=int_list, default=[10, 30, 100],
                   help=f"samples per task type {n_help}, comma-separated (default: 10,30,100)")
    p.add_argument("--claims", type=claims_arg, default=None,
                   help="knockout claim ids (default: the main knockout claims)")
    p.add_argument("--out", type=Path, default=None, help="write the markdown table here too")
    p.add_argument("--json", action="store_true")


def claims_arg(text: str) -> list[str]:
    return [c.strip() for c in text.split(",") if c.strip()]


def add_model(p, default: str | None = "reference") -> None:
    p.add_argument("--model", default=default, required=default is None, help=MODEL_HELP)
    p.add_argument("--revision", default=None,
                   help="with a Hub id: the branch, tag or commit to measure (as ORG/NAME@REVISION)")


def model_with_revision(args) -> str | None:
    """``--model`` with ``--revision`` folded in (``ORG/NAME@REVISION``)."""
    if not getattr(args, "revision", None):
        return args.model
    from ..models.hub import parse_hub_id
    hub_id = parse_hub_id(str(args.model))
    if hub_id is None:
        raise UsageError(f"--revision {args.revision!r} needs a Hub id as --model (ORG/NAME), got "
                         f"{args.model!r}")
    if hub_id[1] and hub_id[1] != args.revision:
        raise UsageError(f"--model {args.model!r} names revision {hub_id[1]!r} and --revision says "
                         f"{args.revision!r}; give one")
    return f"{hub_id[0]}@{args.revision}"


def add_dataset(p) -> None:
    p.add_argument("--dataset", type=Path, default=None,
                   help="dataset folder (default: the frozen synthetic evaluation split)")
    p.add_argument("--tasks", type=tasks_arg, default=None, help="comma-separated task types")


def add_device(p) -> None:
    p.add_argument("--device", default="cpu", help="torch device, e.g. cuda:0")
    p.add_argument("--dtype", default="float32", choices=DTYPES)


OS_FIXES = {2: "check the path", 13: "choose a folder you can write to (--out) or fix its permissions",
            17: "choose another path", 20: "a part of the path is a file, not a folder",
            21: "pass a file, not a folder", 28: "free some disk space or choose another --out",
            30: "choose a writable folder (--out)",
            36: "a name in the path is longer than the file system allows: choose a shorter --out"}


def os_error_text(e: OSError) -> str:
    """An OSError as one sentence: what failed, on which path, and the fix (flowcheck's own
    OSError messages, already sentences, are kept)."""
    if e.strerror is None or e.filename is None:
        return str(e)
    fix = OS_FIXES.get(e.errno, "check the path and its permissions")
    return f"{e.strerror.lower()}: {str(e.filename)!r}; {fix}"


def run_command(func, args) -> int:
    """Run one command function; map flowcheck's own errors (and OS errors) to exit 2 with
    their message, anything else to exit 3 with its traceback."""
    from ..runs.folder import release_locks
    try:
        return func(args)
    except SelfCheckError as e:  # the model cannot be measured as loaded
        print(f"flowcheck: self-check failed: {e}", file=sys.stderr)
        return EXIT_USAGE
    except FlowcheckError as e:  # what was asked cannot be done; the message says why
        print(f"flowcheck: error: {e}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as e:  # the file system refused: say which path and what to do, not [Errno N]
        print(f"flowcheck: error: {os_error_text(e)}", file=sys.stderr)
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
