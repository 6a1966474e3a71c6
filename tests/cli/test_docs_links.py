"""README.md and docs/*.md: every relative link and image points to a file of the repository, and
every #anchor to a heading of its page (GitHub's slugs). External http(s) links are not fetched."""
import re
from pathlib import Path

import pytest

pytestmark = pytest.mark.fast  # the quick tier: make test-fast

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FENCE = re.compile(r"^[ \t]*```.*?^[ \t]*```[^\n]*$", re.S | re.M)
INLINE_CODE = re.compile(r"`[^`]+`")
LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")  # [text](target "title")
DEFINITION = re.compile(r"^\s*\[[^\]]+\]:\s*<?(\S+?)>?(?:\s.*)?$", re.M)  # [ref]: target
HEADING = re.compile(r"^#{1,6}[ \t]+(.+?)[ \t#]*$", re.M)


def prose(text: str) -> str:
    """The page without its code (fenced blocks, inline spans): links in code are not links."""
    return INLINE_CODE.sub("", FENCE.sub("", text))


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: its text (links and emphasis as rendered), lower-case,
    punctuation other than '-' and '_' dropped, spaces to '-'."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # [text](target) -> text
    return re.sub(r"[^\w\- ]", "", text.lower()).replace(" ", "-")


def anchors(page: Path) -> set[str]:
    """Every heading's anchor; a repeated heading gets -1, -2, ... as on GitHub."""
    seen: dict[str, int] = {}
    out = set()
    for heading in HEADING.findall(FENCE.sub("", page.read_text())):
        base = slug(heading)
        out.add(f"{base}-{seen[base]}" if base in seen else base)
        seen[base] = seen.get(base, 0) + 1
    return out


def targets(text: str) -> list[str]:
    body = prose(text)
    return LINK.findall(body) + DEFINITION.findall(body)


def broken(page: Path, root: Path = ROOT) -> list[str]:
    """What is wrong with the page's relative links: a missing file, a path that leaves the
    repository, an anchor with no heading."""
    wrong = []
    for target in targets(page.read_text()):
        if re.match(r"(https?|mailto):", target):
            continue  # external: not fetched
        if re.match(r"[a-z][a-z0-9+.-]*:", target, re.I):
            wrong.append(f"{target}: not a relative link")
            continue
        path, _, anchor = target.partition("#")
        dest = (page.parent / path).resolve() if path else page
        if not dest.is_relative_to(root):
            wrong.append(f"{target}: outside the repository")
        elif not dest.exists():
            wrong.append(f"{target}: no such file")
        elif anchor and dest.suffix == ".md" and anchor not in anchors(dest):
            wrong.append(f"{target}: no heading #{anchor} in {dest.relative_to(root).as_posix()}")
    return wrong


def test_the_slug_rule_is_githubs():
    assert slug("Control models: does the suite see a route that is there?") == \
        "control-models-does-the-suite-see-a-route-that-is-there"
    assert slug("The paper's GQA data") == "the-papers-gqa-data"
    assert slug("Checking a model edit (a CI gate)") == "checking-a-model-edit-a-ci-gate"
    assert slug("What `make demo` and `make test` do") == "what-make-demo-and-make-test-do"
    assert slug("flowcheck_gpu tests") == "flowcheck_gpu-tests"


def test_the_checker_finds_broken_links(tmp_path):
    (tmp_path / "docs").mkdir()
    (tmp_path / "a.png").write_bytes(b"")
    page = tmp_path / "docs" / "page.md"
    page.write_text("# Title\n\n## Same\n\n## Same\n\n"
                    "[ok](../a.png) [ok](#title) [ok](#same-1) [ok](page.md#same) [ok](https://x.org/y)\n"
                    "![gone](a.png) [gone](#nowhere) [gone](page.md#same-2) [out](../../elsewhere.md)\n"
                    "`[in code](missing.md)`\n\n```\n[in a block](missing.md)\n```\n\n[ref]: missing.md\n")
    assert broken(page, tmp_path) == ["a.png: no such file", "#nowhere: no heading #nowhere in docs/page.md",
                            "page.md#same-2: no heading #same-2 in docs/page.md",
                            "../../elsewhere.md: outside the repository", "missing.md: no such file"]


def test_there_are_docs_and_the_readme_links_every_one():
    readme = targets((ROOT / "README.md").read_text())
    assert len(PAGES) > 1
    unlinked = [p.name for p in PAGES[1:] if f"docs/{p.name}" not in {t.partition("#")[0] for t in readme}]
    assert not unlinked, f"docs pages the README does not link: {unlinked}"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_every_relative_link_resolves(page):
    assert not broken(page), broken(page)
