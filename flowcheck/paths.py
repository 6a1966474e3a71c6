"""Where the shipped fixtures live (the repository's fixtures/ folder)."""
from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(os.environ.get("FLOWCHECK_FIXTURES", REPO_ROOT / "fixtures"))
REFERENCE_MODEL = FIXTURES / "models" / "reference"
CONTROL_MODELS = {"paper-route": FIXTURES / "models" / "paper-route",
                  "direct-route": FIXTURES / "models" / "direct-route"}
EVAL_SPLIT = FIXTURES / "data" / "synthetic-eval"


def slug(name: str) -> str:
    """A name as one safe file or folder name (``my/model`` -> ``my_model``)."""
    import re
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", str(name)).strip("_") or "model"


def portable_path(path: Path) -> str:
    """Inside this checkout: relative to its root (a run folder stays valid in another clone);
    elsewhere: absolute."""
    path = Path(path).resolve()
    try:
        return str(path.relative_to(REPO_ROOT))
    except ValueError:
        return str(path)


def resolve_portable(path: str) -> Path:
    """Inverse of ``portable_path``."""
    return REPO_ROOT / path if not Path(path).is_absolute() else Path(path)
