"""The errors flowcheck raises on purpose: each says what was wrong, the value, and what to
do next. The command line turns these (and OS errors) into exit status 2; anything else is
a bug in flowcheck or a library, shown with its traceback and exit status 3. Exit status 1
is reserved for "a claim does not hold".

Each class also derives from the built-in exception a caller would expect (``ValueError``
for bad values, ``FileNotFoundError`` for missing paths), so ``except ValueError`` keeps
working.
"""
from __future__ import annotations


class FlowcheckError(Exception):
    """Root of every error flowcheck raises on purpose."""


class UsageError(FlowcheckError, ValueError):
    """A bad argument or setting: an unknown name, a number out of range."""


class SpecError(FlowcheckError, ValueError):
    """A claim spec (YAML) that does not validate."""


class DataError(FlowcheckError, ValueError):
    """A dataset or sample the model's inputs cannot be built from (a question not found in
    the prompt, token groups that overlap, a dataset without samples of a task)."""


class ModelError(FlowcheckError, ValueError):
    """A model flowcheck cannot measure as loaded (an unsupported class or attention path)."""


class RunFolderError(FlowcheckError, ValueError):
    """A run folder that holds results of another model, dataset or weights."""


class UserFileError(FlowcheckError, ValueError):
    """A file the user gave (a run folder's run.json, a model folder's JSON files, a dataset,
    a claim spec, an expectations or baseline file) that cannot be read as what it should be:
    the message names the file, the line or key, the value and the fix."""


class NotFoundError(FlowcheckError, FileNotFoundError):
    """A file or folder that does not exist or is not what was expected."""
