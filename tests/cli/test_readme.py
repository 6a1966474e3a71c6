"""The README's and docs' examples stay true: the claim example parses, every flowcheck
command they show exists and takes the options they give it."""
import re
from pathlib import Path

import pytest
import yaml

from flowcheck.claims.spec import parse_spec
from flowcheck.cli.main import build_parser

pytestmark = pytest.mark.fast  # the quick tier: make test-fast

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]  # README.md and docs/*.md
FENCE = re.compile(r"^[ \t]*```[^\n]*\n(.*?)^[ \t]*```", re.S | re.M)
COMMAND = re.compile(r"(?<![\w/.-])(?:\.venv/bin/)?flowcheck ([a-z][\w-]*)([^\n]*)")


def code(text: str) -> list[str]:
    """The fenced code blocks (backslash continuations joined) and inline code spans of a page."""
    blocks = [b.replace("\\\n", " ") for b in FENCE.findall(text)]
    spans = [" ".join(s.split()) for s in re.findall(r"`([^`]+)`", FENCE.sub("", text))]
    return blocks + spans


def commands(page: Path) -> list[tuple[str, str]]:
    """Every `flowcheck COMMAND ...` the page shows: (command, the rest of its line, comment cut off)."""
    return [(m.group(1), re.split(r"\s#\s", m.group(2))[0])
            for chunk in code(page.read_text()) for m in COMMAND.finditer(chunk)]


def subcommands(parser) -> dict:
    sub = getattr(parser, "_subparsers", None)
    return sub._group_actions[0].choices if sub is not None else {}


def test_the_claim_example_is_a_valid_spec():
    text = (ROOT / "docs" / "claims.md").read_text()
    block = re.search(r"#+ Adding a claim.*?```yaml\n(.*?)```", text, re.S).group(1)
    spec = parse_spec(yaml.safe_load(block), "README example")
    assert spec.id == "related_to_question_late" and spec.thresholds_for("reference")


def test_every_flowcheck_command_in_the_readme_exists():
    """README.md and every docs/*.md: each `flowcheck COMMAND` (as `.venv/bin/flowcheck` or bare,
    in code) is a command of the CLI."""
    sub = subcommands(build_parser())
    assert {"run", "report", "compare", "ls", "validate", "sweep", "bench", "reference"} <= set(sub)
    assert len(PAGES) > 1, "no docs/*.md"
    shown = {page.relative_to(ROOT).as_posix(): {c for c, _ in commands(page)} for page in PAGES}
    assert {"run", "init", "compare"} <= shown["README.md"]
    unknown = {name: cmds - set(sub) for name, cmds in shown.items() if cmds - set(sub)}
    assert not unknown, unknown
    legacy = {c for page in PAGES for c in re.findall(r"\.venv/bin/flowcheck (\w+)", page.read_text())}
    assert legacy <= set(sub), legacy - set(sub)


def test_every_option_the_readme_gives_a_flowcheck_command_exists():
    """README.md and docs/*.md: each `--option` after `flowcheck COMMAND [ACTION]` is one that
    command takes (`flowcheck COMMAND --help`), and each ACTION of `data`/`reference` exists."""
    from flowcheck.reference.cli import build_parser as reference_parser
    top = subcommands(build_parser())
    wrong = []
    for page in PAGES:
        for command, rest in commands(page):
            if command not in top:
                continue  # test_every_flowcheck_command_in_the_readme_exists says so
            parser = reference_parser() if command == "reference" else top[command]
            words = rest.split()
            if subcommands(parser) and words and re.fullmatch(r"[a-z][\w-]*", words[0]):
                if words[0] not in subcommands(parser):
                    wrong.append(f"{page.name}: flowcheck {command} {words[0]}")
                    continue
                parser = subcommands(parser)[words[0]]
            known = {o for a in parser._actions for o in a.option_strings}
            wrong += [f"{page.name}: flowcheck {command} ... {o}"
                      for o in re.findall(r"(?<!\S)(--[a-z][\w-]*)", rest) if o not in known]
    assert not wrong, wrong


def test_the_gate_ladder_table_is_the_measured_one():
    """README "How far to trust the gate" shows reports/reference/gate-ladder.md, as
    `make gate-ladder` wrote it from its measured counts (gate-ladder.json)."""
    import json
    import sys
    root = Path(__file__).resolve().parents[2]
    block = re.search(r"<!-- gate-ladder: start -->\n(.*?)<!-- gate-ladder: end -->", README, re.S).group(1)
    assert block == (root / "reports" / "reference" / "gate-ladder.md").read_text()
    sys.path.insert(0, str(root / "examples"))
    try:
        import gate_ladder
    finally:
        sys.path.remove(str(root / "examples"))
    rows = json.loads((root / "reports" / "reference" / "gate-ladder.json").read_text())
    assert block == gate_ladder.table(rows) and [r["edit"] for r in rows] == [e[0] for e in gate_ladder.EDITS]
    ids = [f"{t}-{i:06d}" for t in ("ChooseAttr", "QueryAttr") for i in range(120)]
    draws = gate_ladder.draws(ids, 20)
    assert len(draws) == 6 and all(len(d) == 40 for d in draws)
    assert len({q for d in draws for q in d}) == 240  # disjoint, every sample once
