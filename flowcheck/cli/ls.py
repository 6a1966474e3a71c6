"""flowcheck ls: list the claims, the shipped models or the datasets."""
from __future__ import annotations

from pathlib import Path

from .args import EXIT_OK, command

EXAMPLES = ["flowcheck ls claims", "flowcheck ls claims --claims-dir my_claims/", "flowcheck ls models"]


def add_parser(sub) -> None:
    p = command(sub, "ls", "list claims, models or datasets", EXAMPLES)
    p.add_argument("what", choices=["claims", "models", "datasets"])
    p.add_argument("--claims-dir", type=Path, default=None)
    p.set_defaults(func=cmd)


def cmd(args) -> int:
    if args.what == "claims":
        from ..claims.spec import LIBRARY, load_claims
        for s in load_claims([LIBRARY] + ([args.claims_dir] if args.claims_dir else [])):
            print(f"{s.id:<36} v{s.version}  {s.analysis:<13} {s.summary[:70]}")
    elif args.what == "models":
        from ..models.loading import NAMED_MODELS
        from ..paths import FIXTURES
        for name, path in NAMED_MODELS.items():
            print(f"{name:<16} {path}{'' if path.is_dir() else '  (missing)'}")
        for path in sorted((FIXTURES / "models").glob("*")):
            if path.is_dir() and path not in NAMED_MODELS.values():
                print(f"{path.name:<16} {path}")
    else:
        from ..paths import FIXTURES
        for path in sorted((FIXTURES / "data").glob("*")):
            if path.is_dir():
                print(f"{path.name:<16} {path}")
    return EXIT_OK
