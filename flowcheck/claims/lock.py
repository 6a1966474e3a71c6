"""Claim versions that mean something: a lock of each library claim's content.

``versions.lock.json`` records, per claim id, its version and the sha256 of its normalised
content (everything that decides a verdict: analysis, flows, window, lens variant, layer
ranges, conditions, thresholds, applies_to; not the prose). A spec edited without a version
bump no longer matches its lock (``lock_problems`` says so, and a test fails); after a bump
``flowcheck validate --update-lock`` records the new content.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

LOCK_FILE = Path(__file__).resolve().parent / "versions.lock.json"


def content_hash(spec) -> str:
    """sha256 over the verdict-deciding fields of a ``ClaimSpec`` (order-independent)."""
    content = {"analysis": spec.analysis, "flows": sorted(spec.flows), "window": spec.window,
               "lens_variant": spec.lens_variant, "layers": [list(x) for x in spec.layers],
               "conditions": [[c.name, c.statistic, [list(a) for a in c.args], c.op]
                              for c in spec.conditions],
               "thresholds": [[f, [list(v) for v in vals]] for f, vals in spec.thresholds],
               "applies_to": sorted(spec.applies_to)}
    return hashlib.sha256(json.dumps(content, sort_keys=True, default=list).encode()).hexdigest()


def read_lock(path: Path = LOCK_FILE) -> dict:
    return json.loads(Path(path).read_text()) if Path(path).is_file() else {}


def lock_problems(specs, lock: dict) -> list[str]:
    """What does not match the lock: a changed spec with the same version, or a stale lock."""
    out = []
    for s in specs:
        entry, digest = lock.get(s.id), content_hash(s)
        if entry is None:
            out.append(f"{s.id}: not in the lock; run `flowcheck validate --update-lock`")
        elif entry["version"] == s.version and entry["sha256"] != digest:
            out.append(f"{s.id}: its content changed but its version is still {s.version}; a changed "
                       f"claim is another claim: set version: {s.version + 1}, then run "
                       "`flowcheck validate --update-lock`")
        elif entry["version"] != s.version:
            out.append(f"{s.id}: version {s.version} but the lock records {entry['version']}; run "
                       "`flowcheck validate --update-lock`")
    return out


def write_lock(specs, path: Path = LOCK_FILE) -> Path:
    data = {s.id: {"version": s.version, "sha256": content_hash(s)} for s in specs}
    Path(path).write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
    return Path(path)
