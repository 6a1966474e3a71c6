"""Models by Hub id: ``ORG/NAME`` or ``ORG/NAME@REVISION``, resolved through the Hugging Face
cache as transformers resolves them (``huggingface_hub.snapshot_download``).

Only the files flowcheck loads are fetched or looked up (``HUB_FILES``: configs, safetensors
weights, tokenizer, processor and chat-template files; never pickle weights). With
``HF_HUB_OFFLINE=1`` nothing is downloaded: the model must be in the cache. The snapshot's
commit hash is what a run records (run.json ``hub``, the report heading), so a run says which
commit of a Hub model it measured even when asked for a branch such as ``main``.

A local folder of the same name wins, as in transformers.
"""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from pathlib import Path

from ..errors import NotFoundError

HUB_ID = re.compile(r"(?P<repo>[A-Za-z0-9][\w.-]*/[A-Za-z0-9][\w.-]*)(?:@(?P<revision>[\w./-]+))?")
HUB_FILES = ["*.json", "*.safetensors", "*.jinja", "*.model", "*.tiktoken", "*.txt"]


@dataclass(frozen=True)
class HubSnapshot:
    """A Hub model found in the cache: what was asked and which commit it is."""

    repo_id: str
    revision: str  # as asked ('main' when none was)
    commit: str  # the snapshot's commit hash
    path: Path

    def record(self) -> dict:
        return {k: v for k, v in asdict(self).items() if k != "path"}


def parse_hub_id(text: str) -> tuple[str, str | None] | None:
    """(repo id, revision or None) when ``text`` reads as a Hub id, else None."""
    m = HUB_ID.fullmatch(str(text))
    return (m["repo"], m["revision"]) if m else None


def resolve(repo_id: str, revision: str | None = None) -> HubSnapshot:
    """The cached snapshot of ``repo_id`` at ``revision`` (default 'main'), downloaded first
    unless ``HF_HUB_OFFLINE`` is set; a NotFoundError that says how to get it otherwise."""
    from huggingface_hub import constants, snapshot_download
    from huggingface_hub.errors import HfHubHTTPError, LocalEntryNotFoundError
    offline = bool(constants.HF_HUB_OFFLINE)
    asked = f"{repo_id}@{revision}" if revision else repo_id
    get = f"hf download {repo_id}" + (f" --revision {revision}" if revision else "")
    try:
        path = Path(snapshot_download(repo_id, revision=revision, allow_patterns=HUB_FILES,
                                      local_files_only=offline))
    except LocalEntryNotFoundError:
        why = "HF_HUB_OFFLINE is set" if offline else "the Hub could not be reached"
        raise NotFoundError(f"model {asked!r} is not a local folder and not in the Hugging Face cache at "
                            f"{constants.HF_HUB_CACHE} ({why}); download it with `{get}`, or pass a "
                            "model folder") from None
    except HfHubHTTPError as e:
        raise NotFoundError(f"model {asked!r}: the Hub refused it ({type(e).__name__}: {str(e)[:200]}); "
                            "check the id and revision, and `hf auth login` for a gated model") from None
    return HubSnapshot(repo_id, revision or "main", path.name, path)
