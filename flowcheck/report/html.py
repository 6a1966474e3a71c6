"""A self-contained report.html: the Markdown summary's tables plus the plots, embedded."""
from __future__ import annotations

import base64
import html
from pathlib import Path

STYLE = """body{font-family:system-ui,sans-serif;max-width:1200px;margin:2em auto;color:#222}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:3px 8px;font-size:13px}
th{background:#f3f3f3}.holds{background:#e5f5e0}.FAILS{background:#fde0dd}
.INCONCLUSIVE{background:#fff3cd}.UNCERTAIN{background:#fff3cd}
.warn{background:#fde0dd;border-left:4px solid #c00;padding:.5em 1em;margin:1em 0}
img{max-width:100%;border:1px solid #eee;margin:.5em 0}"""


def _row(cells, tag="td", links: dict | None = None) -> str:
    out = []
    for c in cells:
        cls = next((k for k in ("holds", "FAILS", "UNCERTAIN", "INCONCLUSIVE") if c.startswith(k)), "")
        text = html.escape(c)
        if links and c in links:  # a claim's row: to the panel of its first condition
            text = (f'<a href="#panel-{html.escape(links[c])}" title="the panel of its first condition">'
                    f"{text}</a>")
        out.append(f'<{tag} class="{cls}">{text}</{tag}>' if cls else f"<{tag}>{text}</{tag}>")
    return "<tr>" + "".join(out) + "</tr>"


def markdown_to_html(md: str, links: dict | None = None) -> str:
    """The subset the summary uses: '#' headings, '- ' bullets, pipe tables, paragraphs;
    ``links``: {claim id: panel stem}, a table cell naming a claim links to the panel of its
    first condition."""
    out, table = [], []
    for line in md.splitlines() + [""]:
        if line.startswith("|"):
            cells = [c.strip().replace("`", "") for c in line.strip("|").split("|")]
            if not all(set(c) <= {"-"} for c in cells):
                table.append(cells)
            continue
        if table:
            out.append("<table>" + _row(table[0], "th") + "".join(_row(r, links=links) for r in table[1:])
                       + "</table>")
            table = []
        if line.startswith("#"):
            level = len(line) - len(line.lstrip("#"))
            out.append(f"<h{level}>{html.escape(line.lstrip('# '))}</h{level}>")
        elif line.startswith("> "):  # a warning banner (e.g. random weights)
            out.append(f'<blockquote class="warn">{html.escape(line[2:].replace("**", "").replace("`", ""))}'
                       "</blockquote>")
        elif line.startswith("- "):
            out.append(f"<li>{html.escape(line[2:].replace('`', ''))}</li>")
        elif line.strip():
            out.append(f"<p>{html.escape(line)}</p>")
    return "\n".join(out)


def render_html(summary_md: str, plots: list[Path], links: dict | None = None) -> str:
    """The page: the summary (claim cells linked to ``links[claim]``'s panel), then each plot
    under an anchor ``panel-<stem>``."""
    imgs = []
    stems = {Path(p).stem for p in plots}
    for p in plots:
        data = base64.b64encode(Path(p).read_bytes()).decode()
        stem = html.escape(Path(p).stem)
        imgs.append(f'<h3 id="panel-{stem}">{html.escape(Path(p).stem.replace("_", " "))}</h3>'
                    f'<img alt="{stem}" src="data:image/png;base64,{data}">')
    links = {c: s for c, s in (links or {}).items() if s in stems}
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>flowcheck report</title>"
            f"<style>{STYLE}</style></head><body>{markdown_to_html(summary_md, links)}"
            f"<h2>Curves</h2>{''.join(imgs)}</body></html>\n")
