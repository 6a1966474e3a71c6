"""The README's examples stay true: its claim example parses, its commands exist."""
import re
from pathlib import Path

import pytest
import yaml

from flowcheck.claims.spec import parse_spec
from flowcheck.cli.main import build_parser

pytestmark = pytest.mark.fast  # the quick tier: make test-fast

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()


def test_the_claim_example_is_a_valid_spec():
    block = re.search(r"### Adding a claim.*?```yaml\n(.*?)```", README, re.S).group(1)
    spec = parse_spec(yaml.safe_load(block), "README example")
    assert spec.id == "related_to_question_late" and spec.thresholds_for("reference")


def test_every_flowcheck_command_in_the_readme_exists():
    sub = build_parser()._subparsers._group_actions[0].choices
    assert {"run", "report", "compare", "ls", "validate", "sweep", "bench", "reference"} <= set(sub)
    unknown = {c for c in re.findall(r"\.venv/bin/flowcheck (\w+)", README)} - set(sub)
    assert not unknown, unknown
