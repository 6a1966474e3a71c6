"""flowcheck validate: check claim specs without a model."""
from __future__ import annotations

import sys
from pathlib import Path

from .args import EXIT_OK, EXIT_USAGE, command

EXAMPLES = ["flowcheck validate", "flowcheck validate my_claims/",
            "flowcheck validate my_claims/related_to_question_late.yaml"]


def add_parser(sub) -> None:
    p = command(sub, "validate", "check claim specs (the library, a folder or a file)", EXAMPLES)
    p.add_argument("path", type=Path, nargs="?", default=None)
    p.add_argument("--update-lock", action="store_true",
                   help="record the library claims' versions and content hashes (after a version bump)")
    p.set_defaults(func=cmd)


def cmd(args) -> int:
    from ..claims.spec import LIBRARY, SpecError, load_claims, load_spec
    path = args.path or LIBRARY
    try:  # a user folder is checked together with the library: its ids must not collide
        if path.is_file():
            specs = [load_spec(path)]
        else:
            dirs = [LIBRARY] if path.resolve() == LIBRARY.resolve() else [LIBRARY, path]
            specs = [s for s in load_claims(dirs) if path.resolve() == LIBRARY.resolve()
                     or Path(s.source).parent.resolve() == path.resolve()]
    except SpecError as e:
        print(f"flowcheck: invalid claim spec: {e}", file=sys.stderr)
        return EXIT_USAGE
    for s in specs:
        print(f"ok  {s.id} v{s.version} ({len(s.conditions)} conditions)")
    print(f"{len(specs)} claim spec(s) valid in {path}")
    if path.resolve() == LIBRARY.resolve():
        from ..claims.lock import lock_problems, read_lock, write_lock
        if args.update_lock:
            print(f"wrote {write_lock(specs)}")
        problems = lock_problems(specs, read_lock())
        for p in problems:
            print(f"flowcheck: claim lock: {p}", file=sys.stderr)
        if problems:
            return EXIT_USAGE
    return EXIT_OK
