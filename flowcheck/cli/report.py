"""flowcheck report: re-judge and re-render a run folder from its stored results (no model)."""
from __future__ import annotations

from pathlib import Path

from .args import EXIT_FAIL, EXIT_OK, command

EXAMPLES = ["flowcheck report reports/ref", "flowcheck report reports/ref --json"]


def add_parser(sub) -> None:
    p = command(sub, "report", "re-judge and re-render a run folder (no model)", EXAMPLES)
    p.add_argument("run_dir", type=Path)
    p.add_argument("--json", action="store_true")
    add_uncertain(p)
    p.set_defaults(func=cmd)


def add_uncertain(p) -> None:
    p.add_argument("--uncertain", choices=["fail", "allow"], default="fail",
                   help="an uncertain verdict (its 95%% interval straddles the threshold) fails the "
                        "exit status (default) or is only reported (allow)")


def print_verdicts(result, as_json: bool, uncertain: str = "fail") -> int:
    """The summary (or the verdicts JSON) of a SuiteResult; exit 1 when a claim does not pass
    (fails, is inconclusive, or is uncertain unless ``uncertain='allow'``)."""
    from ..claims.serialise import dumps, verdicts_to_dict
    if result.pending:  # a shard of a split run, others still measuring
        import json
        print(json.dumps({"pending": result.pending, "run_dir": str(result.run_dir)}) if as_json
              else result.pending)
        return EXIT_OK
    if as_json:
        print(dumps(verdicts_to_dict(result.verdicts)), end="")
    else:
        print((result.run_dir / "summary.md").read_text())
        print(f"report: {result.run_dir / 'report.html'}")
    return EXIT_OK if result.gate(uncertain) else EXIT_FAIL


def cmd(args) -> int:
    from ..suite import judge_run
    return print_verdicts(judge_run(args.run_dir), args.json, args.uncertain)
