"""A real `flowcheck run` subprocess killed (SIGKILL) at random moments and rerun loses and
repeats nothing and ends with the verdicts of an uninterrupted run; Ctrl-C stops it quickly
with a resume message; a second process on the same run folder is refused."""
import json
import os
import random
import signal
import subprocess
import sys
import time

import pytest

RUN = [sys.executable, "-m", "flowcheck", "run", "--model", "reference", "--max-samples", "4",
       "--threads", "1"]


def default_signals():
    """In the child, before exec: Ctrl-C and SIGTERM back to their defaults. A shell started in
    the background (`nohup make test &`, many CI runners) passes SIGINT down as *ignored*, and
    Python keeps an ignored SIGINT ignored; these tests are about flowcheck, not the caller's shell."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def start(out, *extra):
    return subprocess.Popen(RUN + ["--out", str(out), *extra], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, preexec_fn=default_signals)


@pytest.fixture(params=["interactive parent", "parent ignores SIGINT"])
def parent_shell(request):
    """Runs the test as if started from an interactive shell and from a background one (whose
    children inherit SIGINT as ignored)."""
    if request.param == "interactive parent":
        yield request.param
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield request.param
    finally:
        signal.signal(signal.SIGINT, previous)


def stored_lines(out):
    path = out / "results.jsonl"
    return path.read_text().splitlines() if path.is_file() else []


def wait_for(predicate, timeout=120):
    t0 = time.time()
    while not predicate():
        if time.time() - t0 > timeout:
            raise TimeoutError
        time.sleep(0.02)


def valid_rows(out):
    rows = []
    for line in stored_lines(out):
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError:
            pass  # a line torn by the kill: ignored by the reader
    return rows


@pytest.mark.slow
def test_sigkill_at_random_moments_then_rerun_equals_an_uninterrupted_run(tmp_path):
    clean = start(tmp_path / "clean")
    clean.communicate(timeout=600)
    expected = json.loads((tmp_path / "clean" / "verdicts.json").read_text())
    n_samples = len(json.loads((tmp_path / "clean" / "run.json").read_text())["question_ids"])

    out, rng, kills = tmp_path / "killed", random.Random(7), []
    for attempt in range(3):
        before = len(valid_rows(out))
        p = start(out)
        # wait until this attempt has stored a new sample, then kill after a random delay: during
        # a forward, between or inside an append, or (once the store is full) while judging/writing
        wait_for(lambda: len(valid_rows(out)) > before or p.poll() is not None)
        time.sleep(rng.uniform(0, 0.8))
        if p.poll() is None:
            p.send_signal(signal.SIGKILL)
            p.wait()
            kills.append(f"attempt {attempt}: killed with {len(valid_rows(out))}/{n_samples} stored")
        rows = valid_rows(out)
        assert len({r["question_id"] for r in rows}) == len(rows)  # nothing stored twice
        assert len(rows) >= before  # nothing lost
    # one more: killed once every sample is stored, while it judges and writes the report
    p = start(out)
    wait_for(lambda: len(valid_rows(out)) == n_samples or p.poll() is not None)
    time.sleep(rng.uniform(0, 0.3))
    if p.poll() is None:
        p.send_signal(signal.SIGKILL)
        p.wait()
        kills.append(f"final: killed with {n_samples}/{n_samples} stored (judging / writing the report)")
    for name in ("run.json", "verdicts.json"):  # replaced whole: the old file or the new, never half
        if (out / name).exists():
            json.loads((out / name).read_text())
    stored_before_rerun = len(valid_rows(out))
    p = start(out)
    p.communicate(timeout=600)
    assert p.returncode in (0, 1)
    meta = json.loads((out / "run.json").read_text())
    assert meta["timing_s"]["reused"] == stored_before_rerun  # no stored result recomputed
    assert meta["timing_s"]["measured"] == n_samples - stored_before_rerun
    rows = valid_rows(out)
    assert sorted(r["question_id"] for r in rows) == sorted(meta["question_ids"])  # each once
    assert json.loads((out / "verdicts.json").read_text()) == expected
    print("\n" + "\n".join(kills))


@pytest.mark.slow
def test_ctrl_c_stops_quickly_with_a_resume_message_and_a_consistent_store(tmp_path, parent_shell):
    out = tmp_path / "run"
    p = start(out)
    wait_for(lambda: len(valid_rows(out)) >= 2)
    t0 = time.time()
    p.send_signal(signal.SIGINT)
    _, err = p.communicate(timeout=60)
    stopped_in = time.time() - t0
    assert p.returncode == 130 and stopped_in < 5, (p.returncode, stopped_in)
    assert "run the same command again to resume" in err
    lines = stored_lines(out)
    assert all(json.loads(line) for line in lines)  # no torn line after Ctrl-C
    p = start(out)
    p.communicate(timeout=600)
    meta = json.loads((out / "run.json").read_text())
    assert meta["timing_s"]["reused"] == len(lines)


def test_a_second_process_on_the_same_folder_is_refused_and_a_killed_one_leaves_no_lock(tmp_path):
    from flowcheck.runs.folder import RunFolder, release_locks
    out = tmp_path / "run"
    out.mkdir()
    RunFolder(out).lock()  # this test process writes the folder
    try:
        p = subprocess.run(RUN + ["--out", str(out)], capture_output=True, text=True, timeout=300)
        assert p.returncode == 2
        assert f"being written by another flowcheck process (pid {os.getpid()}" in p.stderr
        assert not (out / "run.json").exists()
    finally:
        release_locks()
    holder = subprocess.Popen([sys.executable, "-c", "import sys, time; from flowcheck.runs.folder "
                               "import RunFolder; RunFolder(sys.argv[1]).lock(); print('locked', "
                               "flush=True); time.sleep(60)", str(out)], stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "locked"
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    RunFolder(out).lock()  # the kernel released the dead process's lock
    release_locks()
