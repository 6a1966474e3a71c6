"""Where the shipped fixtures live (the repository's fixtures/ folder)."""
from __future__ import annotations

import os
from contextlib import contextmanager
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


@contextmanager
def writing(what: str, folder):
    """Turn an OSError of the block into one message: what could not be written, where, why
    and the fix (``--out``), e.g. ``with writing("the run folder", out): out.mkdir(...)``."""
    try:
        yield
    except OSError as e:
        raise OSError(f"cannot write {what} to {str(folder)!r} ({e.strerror or e}); choose a "
                      "writable folder with --out") from e
