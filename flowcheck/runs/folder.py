"""A run folder, the one place that knows its files: ``run.json`` (what was run: model,
dataset, weights fingerprint, plan, question ids), ``results.jsonl`` (one measured sample
per line, append-only), ``verdicts.json`` (rounded verdicts), ``summary.md`` and
``report.html``.

``RunFolder(path).create(meta)`` refuses a folder that holds another model's, dataset's or
weights' results, or that another flowcheck process is writing (``lock``); ``rows()`` /
``evidence()`` read the store back (a torn last line from a kill is ignored; the latest
line of a sample wins); nothing here measures or judges. Every file but the append-only
store is replaced whole (written beside it, then renamed): a kill leaves the old or the new.
"""
from __future__ import annotations

import json
import os
import time
from contextlib import contextmanager
from pathlib import Path

from ..errors import NotFoundError, RunFolderError, UserFileError
from ..paths import read_json, writing

# run.json keys every reader needs, with their types; a file without them is not a run record
META_TYPES = {"question_ids": list, "n_layers": int, "k": int, "engine": str, "flows": list,
              "lens_variants": list, "claims": list, "family": str}
META_FIX = ("flowcheck writes it when a run starts: restore the file, or run again into another --out "
            "(or after deleting this folder)")

_HELD: dict = {}  # resolved folder -> the open lock file this process holds until it exits


def release_locks() -> None:
    """Give up every run folder this process holds (a command has finished with them)."""
    for key in list(_HELD):
        _release(key)


def _release(key: Path) -> None:
    f = _HELD.pop(key, None)
    if f is not None:
        f.close()  # closing the file drops its lock


def write_atomic(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` whole: a kill leaves the old file or the new, never half."""
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    with open(tmp, "w") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def _same_path(a, b) -> bool:
    """Stored paths are checkout-relative (or absolute outside it, and in older runs)."""
    from ..paths import resolve_portable
    if a is None or b is None:
        return a == b
    return resolve_portable(a).resolve() == resolve_portable(b).resolve()


class RunFolder:
    META, RESULTS, VERDICTS, SUMMARY, REPORT = (
        "run.json", "results.jsonl", "verdicts.json", "summary.md", "report.html")

    def __init__(self, path):
        self.path = Path(path)
        self.unreadable: list[str] = []  # result lines ``rows()`` could not read ("file line N")

    def __repr__(self) -> str:
        return f"RunFolder({str(self.path)!r})"

    @property
    def results_path(self) -> Path:
        return self.path / self.RESULTS

    def results_path_for(self, shard=None) -> Path:
        """The store a process appends to: ``results.jsonl``, or one file per shard
        (``results-shard-<i>-of-<n>.jsonl``) when the run is split over processes."""
        if shard is None or shard.count == 1:
            return self.results_path
        return self.path / f"results-{shard.label}.jsonl"

    def result_files(self) -> list[Path]:
        """Every store of the folder: ``results.jsonl`` first, then the shards' by (n, i). A
        sample in several stores (re-measured under another split): the last one listed wins."""
        import re
        files = [self.results_path] if self.results_path.is_file() else []

        def order(p: Path):
            m = re.search(r"shard-(\d+)-of-(\d+)", p.name)
            return (int(m.group(2)), int(m.group(1))) if m else (0, 0)
        return files + sorted(self.path.glob("results-shard-*.jsonl"), key=order)

    # run.json ---------------------------------------------------------------------------
    def is_run(self) -> bool:
        return (self.path / self.META).is_file()

    def meta(self, complete: bool = True) -> dict:
        """run.json, checked: a JSON object with (``complete``) every key a reader needs."""
        if not self.is_run():
            raise NotFoundError(f"{str(self.path)!r} is not a flowcheck run folder (no {self.META}); "
                                "pass the --out folder of a 'flowcheck run'")
        path = self.path / self.META
        meta = read_json(path, "run.json of the run folder", META_FIX,
                         required=tuple(META_TYPES) if complete else ())
        for key, kind in META_TYPES.items() if complete else ():
            if not isinstance(meta[key], kind) or isinstance(meta[key], bool):
                raise UserFileError(f"run.json of the run folder {str(path)!r}: {key!r} must be a "
                                    f"{kind.__name__}, got {meta[key]!r}; {META_FIX}")
        return meta

    def write_meta(self, meta: dict) -> None:
        self.lock()
        write_atomic(self.path / self.META, json.dumps(meta, indent=1, sort_keys=True) + "\n")

    def _make(self) -> None:
        with writing("the run folder", self.path):
            self.path.mkdir(parents=True, exist_ok=True)

    @contextmanager
    def locked(self, shard=None, wait_s: float = 0.0, for_shard: bool = False):
        """Hold the folder (``lock``) for the block; given up after it unless this process
        already held it before."""
        self._make()
        key = self._lock_key(shard)
        held = key in _HELD
        self.lock(shard, wait_s, for_shard)
        try:
            yield self
        finally:
            if not held:
                _release(key)

    def _lock_file(self, shard=None) -> Path:
        return self.path / (".lock" if shard is None or shard.count == 1 else f".lock-{shard.label}")

    def _lock_key(self, shard=None):
        return self._lock_file(shard).resolve()

    def lock(self, shard=None, wait_s: float = 0.0, for_shard: bool = False) -> None:
        """Hold the folder for this process (an OS file lock on ``.lock``, released when the
        process ends, also when it is killed); another process writing it is refused (after
        waiting up to ``wait_s`` seconds: shards take the folder lock only briefly). A shard
        holds its own ``.lock-shard-<i>-of-<n>`` while it measures; the folder lock is refused
        while a shard measures, so a whole run never measures beside the shards
        (``for_shard``: a shard taking the folder lock briefly, to write run.json or judge)."""
        key = self._lock_key(shard)
        if key in _HELD:
            return
        try:
            import fcntl
        except ImportError:  # no POSIX file locks (Windows): nothing to hold
            return
        f = open(self._lock_file(shard), "a+")
        deadline = time.monotonic() + wait_s
        try:
            while True:
                try:
                    fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() < deadline:
                        time.sleep(0.2)
                        continue
                    f.seek(0)
                    holder = f.read().strip() or "another process"
                    raise RunFolderError(
                        f"{self.path} is being written by another flowcheck process ({holder}); wait "
                        "for it to finish or pass another --out (a killed process leaves no lock "
                        "behind)") from None
        except BaseException:
            f.close()  # never leak the handle (refused, interrupted, or a lock error such as ENOLCK)
            raise
        f.seek(0)
        f.truncate()
        f.write(f"pid {os.getpid()}, since {time.strftime('%Y-%m-%d %H:%M:%S')}\n")
        f.flush()
        _HELD[key] = f
        if (shard is None or shard.count == 1) and not for_shard:
            self._refuse_beside_measuring_shards()

    def _refuse_beside_measuring_shards(self) -> None:
        """A shard that holds its lock is measuring: a whole run must not measure beside it."""
        import fcntl
        held_by_me = set(_HELD)
        for path in sorted(self.path.glob(".lock-shard-*")):
            if path.resolve() in held_by_me:
                continue
            with open(path, "a+") as g:
                try:
                    fcntl.flock(g, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    g.seek(0)
                    holder = g.read().strip() or "another process"
                    _release(self._lock_key())
                    raise RunFolderError(
                        f"{self.path} is being measured by {path.name[len('.lock-'):]} ({holder}); "
                        "wait for the shards to finish or pass another --out") from None

    def create(self, meta: dict) -> "RunFolder":
        """Create the folder and write ``meta``; refuse one that holds another model's or
        dataset's results, or results of the same model folder with other weights (folders
        written before the fingerprint existed carry none and are taken as they are)."""
        self._make()
        self.lock()
        if self.is_run():
            old = self.meta(complete=False)
            for field in ("model", "dataset"):
                if not _same_path(old.get(field), meta.get(field)):
                    raise RunFolderError(
                        f"{self.path} holds results for {field} {old.get(field)!r}, not "
                        f"{meta.get(field)!r}; pass another --out or delete the folder")
            if (old.get("dataset_content") and meta.get("dataset_content")
                    and old["dataset_content"] != meta["dataset_content"]):
                raise RunFolderError(
                    f"{self.path} holds results for other contents of the dataset "
                    f"{meta.get('dataset')!r} (questions file fingerprint {old['dataset_content']}, now "
                    f"{meta['dataset_content']}): its rows changed since; pass another --out or "
                    "delete the folder")
            self._check_split(old, meta)
            if old.get("weights") and meta.get("weights") and old["weights"] != meta["weights"]:
                raise RunFolderError(
                    f"{self.path} holds results for other weights of {meta.get('model')!r} "
                    f"(fingerprint {old['weights']}, now {meta['weights']}): the model was "
                    "changed since (fine-tuned, quantised, pruned or loaded in another "
                    "dtype); pass another --out or delete the folder")
        self.write_meta(meta)
        return self

    SPLIT_KEYS = ("question_ids", "shards", "k", "engine", "flows", "lens_variants", "attn")

    def _check_split(self, old: dict, meta: dict) -> None:
        """Shards of one split run must agree on what the run is: a shard started with other
        settings (samples, shard count, window, engine) while the folder's split run is not
        complete would leave a run that never gets its report; it is refused."""
        if meta.get("shards", 1) <= 1 or old.get("shards", 1) <= 1:
            return
        differ = [k for k in self.SPLIT_KEYS if old.get(k) != meta.get(k)]
        if not differ:
            return
        try:
            stored = self.latest_rows(meta=old)
        except (KeyError, TypeError, ValueError):
            stored = {}
        left = [q for q in old.get("question_ids", []) if q not in stored]
        if left:
            what = ", ".join(f"{len(old.get(k) or [])} samples, now {len(meta.get(k) or [])}"
                             if k == "question_ids" else f"{k} {old.get(k)!r}, now {meta.get(k)!r}"
                             for k in differ)
            raise RunFolderError(
                f"{self.path} holds a split run started with other settings ({what}) that still "
                f"lacks {len(left)} of its {len(old.get('question_ids', []))} samples: every shard of "
                "a run must be started with the same settings. Start the missing shards as that run "
                "was started, or pass another --out")

    # results.jsonl ----------------------------------------------------------------------
    def rows(self) -> list[dict]:
        """Every stored sample line of every store. A line that is not a sample (torn by a
        kill, damaged, not UTF-8) is skipped and listed in ``unreadable`` ("file line N"):
        its sample counts as missing, so the run is incomplete until it is measured again."""
        out, self.unreadable = [], []
        for path in self.result_files():
            for n, line in enumerate(path.read_bytes().splitlines(), 1):
                try:
                    row = json.loads(line.decode())
                except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
                    row = None
                if isinstance(row, dict) and isinstance(row.get("question_id"), str):
                    out.append(row)
                elif line.strip():
                    self.unreadable.append(f"{path.name} line {n}")
        return out

    def latest_rows(self, plan=None, question_ids=None, meta: dict | None = None,
                    stored: list | None = None) -> dict:
        """{question_id: row} measured for ``plan`` (default: the one run.json records), of
        ``question_ids`` (default: run.json's), the latest line for a sample winning.
        ``stored``: ``rows()`` when the caller has already read them."""
        from .execute import RunPlan, covers, store_key
        meta = meta or self.meta()
        plan = plan or RunPlan.from_meta(meta)
        ids = set(meta["question_ids"]) if question_ids is None else set(question_ids)
        key = store_key(plan, meta["n_layers"], meta.get("attn"), meta=meta)
        return {r["question_id"]: r for r in (self.rows() if stored is None else stored)
                if covers(r, plan, key) and r["question_id"] in ids}

    def evidence(self, plan=None, question_ids=None, lens_variant: str | None = None):
        """(Evidence of the correctly answered samples, counts per task {n, n_correct})."""
        from .execute import RunPlan
        meta = self.meta()
        plan = plan or RunPlan.from_meta(meta)
        return evidence_from_rows(self.latest_rows(plan, question_ids, meta), plan,
                                  meta["n_layers"], lens_variant)

    # verdicts.json and the rendered report ----------------------------------------------
    def verdicts(self) -> dict:
        path = self.path / self.VERDICTS
        if not path.is_file():
            raise NotFoundError(f"{str(path)!r} does not exist; pass a run folder written by "
                                "`flowcheck run` (or re-judge it with `flowcheck report`)")
        return read_json(path, "verdicts.json of the run folder", "re-judge the run with `flowcheck report "
                         f"{self.path}` (it rewrites verdicts.json)")

    def write_report(self, verdicts_json: str, summary: str, html: str) -> None:
        self.lock()
        write_atomic(self.path / self.VERDICTS, verdicts_json)
        write_atomic(self.path / self.SUMMARY, summary)
        write_atomic(self.path / self.REPORT, html)


def evidence_from_rows(rows: dict, plan, n_layers: int, lens_variant: str | None = None):
    """(Evidence of the correctly answered samples, counts per task {n, n_correct}) from
    ``{question_id: row}`` (``RunFolder.latest_rows``)."""
    from collections import Counter

    import numpy as np

    from ..claims.judge import Evidence
    counts: dict = {}
    answers: dict = {}
    for r in rows.values():
        c = counts.setdefault(r["task"], {"n": 0, "n_correct": 0})
        c["n"] += 1
        c["n_correct"] += bool(r["correct"])
        if r.get("non_finite"):
            c["non_finite"] = c.get("non_finite", 0) + 1
        answers.setdefault(r["task"], Counter())[str(r.get("answer", "")).strip().lower()] += 1
    for task, c in counts.items():  # the accuracy of always giving the most common answer
        c["majority"] = round(answers[task].most_common(1)[0][1] / c["n"], 4)
    # a sample with a non-finite number (overflow, NaN) is left out of every curve, never
    # averaged in; run.json and the summary list it (suite.non_finite)
    ok = [rows[q] for q in sorted(rows) if rows[q]["correct"] and not rows[q].get("non_finite")]
    nan = np.full(n_layers, np.nan)
    curves = {f: np.array([r["changes"][f] if r["changes"][f] is not None else nan for r in ok],
                          dtype=float).reshape(len(ok), n_layers) for f in plan.flows}
    variant = lens_variant or (plan.lens_variants[0] if plan.lens_variants else None)
    if variant:
        for t in ("lower", "capitalised"):
            curves[f"lens:{t}"] = np.array([r["lens"][variant][t] for r in ok],
                                           dtype=float).reshape(len(ok), n_layers)
    tasks = np.array([r["task"] for r in ok], dtype=object)
    return Evidence(n_layers, tasks, curves), counts
