"""Where files live (the shipped fixtures) and how the user's files are read and written:
every problem reading one names the file and the fix."""
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
        why = e.strerror or str(e)
        if Path(folder).is_file():
            why = "it is a file, not a folder"
        elif getattr(e, "errno", None) == 36:  # ENAMETOOLONG
            why = "a name in the path is too long for the file system"
        raise OSError(f"cannot write {what} to {str(folder)!r} ({why}); choose a writable folder "
                      "with --out") from e


# --- reading the user's files: every problem is a UserFileError naming the file -------------
def read_text(path, what: str, fix: str) -> str:
    """The UTF-8 text of ``path`` (a leading byte-order mark dropped). ``what`` names the file
    for the user ("run.json of the run folder"), ``fix`` says what to do. A missing file stays
    a FileNotFoundError (callers say what was expected); anything else that is not a readable
    UTF-8 regular file (a folder, a FIFO, Latin-1 text) is a UserFileError."""
    from .errors import UserFileError
    path = Path(path)
    if path.exists() and not path.is_file():
        raise UserFileError(f"{what} {str(path)!r} is not a regular file (a folder, pipe or device); {fix}")
    data = path.read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        raise UserFileError(f"{what} {str(path)!r} is not UTF-8 text (byte 0x{data[e.start]:02x} on line "
                            f"{line}); save it as UTF-8. {fix}") from None


def read_json(path, what: str, fix: str, required: tuple = ()) -> dict:
    """``path`` parsed as one JSON object holding every key in ``required``; a file that is
    empty, cut short, not JSON, or of another shape is a UserFileError naming the file, the
    line and column or the key, and ``fix``."""
    import json

    from .errors import UserFileError
    text = read_text(path, what, fix)
    where = f"{what} {str(path)!r}"
    if not text.strip():
        raise UserFileError(f"{where} is empty; {fix}")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        cut = " (the file ends early: cut short?)" if e.pos >= len(text.rstrip()) - 1 else ""
        raise UserFileError(f"{where} is not valid JSON: {e.msg} at line {e.lineno}, column "
                            f"{e.colno}{cut}; {fix}") from None
    except RecursionError:
        raise UserFileError(f"{where} is nested too deeply to read; {fix}") from None
    if not isinstance(data, dict):
        raise UserFileError(f"{where} holds a JSON {type(data).__name__} where an object {{...}} is "
                            f"expected; {fix}")
    missing = [k for k in required if k not in data]
    if missing:
        raise UserFileError(f"{where} lacks the key{'s' if len(missing) > 1 else ''} "
                            f"{', '.join(map(repr, missing))}; {fix}")
    return data
