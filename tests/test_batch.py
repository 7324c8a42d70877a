"""End to end: ``grader batch`` on real folders (small classes, a tiny catalogue, short timeouts)."""

from __future__ import annotations

import csv
import io
import json
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

GRADER = shutil.which("grader")

SOLUTION = '''"""Tiny exercise for batch tests."""
from sympy import exp
from grader.spec import exercise, mistake, symbolic

EXERCISE = exercise("Tiny", order=1)


@symbolic(points=1, mistakes=[mistake(lambda x: -exp(x), "the derivative of e^x is e^x, no minus", tag="sign_error")])
def d_exp(x):
    """d/dx e^x"""
    return exp(x)


@symbolic(points=2)
def d_square(x):
    """d/dx x^2"""
    return 2 * x
'''
TEMPLATE = "def d_exp(x):\n    raise NotImplementedError\n\n\ndef d_square(x):\n    raise NotImplementedError\n"
GOOD = "from sympy import exp\n\n\ndef d_exp(x):\n    return exp(x)\n\n\ndef d_square(x):\n    return 2*x\n"
SIGN = "from sympy import exp\n\n\ndef d_exp(x):\n    return -exp(x)\n\n\ndef d_square(x):\n    return x*2\n"
BROKEN = "def d_exp(x)\n    return x\n"
HOSTILE = '''import os, signal
open("left_behind.txt", "w").write("x")
print("spam " * 10000)
try:
    os.kill(os.getppid(), signal.SIGKILL)
except Exception:
    pass


def d_exp(x):
    while True:
        pass


def d_square(x):
    return 2*x
'''


def run(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    cmd = [GRADER, *args] if GRADER else [sys.executable, "-m", "grader.cli", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def catalog(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("catalog")
    (root / "exercises").mkdir()
    (root / "solutions").mkdir()
    (root / "exercises" / "tiny.py").write_text(TEMPLATE)
    (root / "solutions" / "tiny.py").write_text(SOLUTION)
    return root


def write_class(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    return root


def batch(catalog: Path, subs: Path, out: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return run("batch", str(subs), "--out", str(out), "--catalog", str(catalog), "--timeout", "1", *extra)


def gradebook_rows(out: Path) -> tuple[list[tuple], list[tuple]]:
    db = sqlite3.connect(out / "gradebook.sqlite")
    subs = db.execute("SELECT learner, exercise, path, sha256, grader_version, score, max_score, status, problem "
                      "FROM submissions ORDER BY learner").fetchall()
    items = db.execute("SELECT * FROM items ORDER BY learner, exercise, position").fetchall()
    db.close()
    return subs, items


def csv_rows(out: Path) -> dict[str, list[str]]:
    rows = list(csv.reader(io.StringIO((out / "grades.csv").read_text())))
    assert rows[0] == ["learner", "tiny.d_exp", "tiny.d_square", "tiny", "total", "max_total"]
    return {r[0]: r[1:] for r in rows[1:]}


def test_batch_grades_a_class_and_writes_every_output(catalog, tmp_path):
    subs = write_class(tmp_path / "class", {"alice/tiny.py": GOOD, "bob/tiny.py": SIGN, "carol/tiny.py": BROKEN,
                                            "dave/tiny.py": GOOD, "notes.txt": "hello"})
    (subs / "erin").mkdir()
    (subs / "erin" / "tiny.py").write_bytes(b"def d_exp(x):\n    return '\xff'\n")  # not UTF-8
    out = tmp_path / "out"
    res = batch(catalog, subs, out, "--jobs", "2")
    assert res.returncode == 0, res.stderr
    assert "not graded: notes.txt: the name matches no exercise" in res.stderr
    assert "layout: folder per learner; 5 learners, 5 submissions" in res.stderr
    assert "[5/5] graded" in res.stderr  # plain log lines when not on a terminal
    assert "graded 5, already graded 0" in res.stdout
    assert csv_rows(out) == {"alice": ["1", "2", "3", "3", "3"], "bob": ["0", "2", "2", "2", "3"],
                             "carol": ["0", "0", "0", "0", "3"], "dave": ["1", "2", "3", "3", "3"],
                             "erin": ["0", "0", "0", "0", "3"]}
    doc = json.loads((out / "grades.json").read_text())
    assert doc["learners"][1]["exercises"]["tiny"]["items"]["d_exp"]["diagnosis"] == "sign_error"
    for learner in ("alice", "bob", "carol", "dave", "erin"):
        assert "<html" in (out / "reports" / learner / "tiny.html").read_text()
    page = (out / "summary.html").read_text()
    assert "sign_error" in page and "carol" in page and "notes.txt" in page
    subs_rows, _ = gradebook_rows(out)
    assert [(r[0], r[2], r[7]) for r in subs_rows] == [("alice", "alice/tiny.py", "ok"), ("bob", "bob/tiny.py", "ok"),
                                                       ("carol", "carol/tiny.py", "error"),
                                                       ("dave", "dave/tiny.py", "ok"),  # same file as alice
                                                       ("erin", "erin/tiny.py", "error")]
    erin = subs_rows[-1][8]
    assert "erin/tiny.py is not UTF-8 text" in erin and str(tmp_path) not in erin  # no instructor paths
    again = batch(catalog, subs, out)  # nothing changed: nothing graded, same outputs
    assert again.returncode == 0 and "graded 0, already graded 5" in again.stdout
    assert gradebook_rows(out)[0] == subs_rows


def _workers_of(out: Path) -> list[int]:
    """Processes whose command line names ``out`` (the batch and its forked workers)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if str(out).encode() in (entry / "cmdline").read_bytes():
                    pids.append(int(entry.name))
            except OSError:
                pass
    return pids


def _recorded(out: Path) -> int:
    try:
        db = sqlite3.connect(f"file:{out / 'gradebook.sqlite'}?mode=ro", uri=True)
        try:
            return db.execute("SELECT count(*) FROM submissions").fetchone()[0]
        finally:
            db.close()
    except sqlite3.Error:
        return 0


def _default_sigint() -> None:
    """Ctrl-C must reach the batch as from a terminal, also when this suite was started with SIGINT ignored
    (a background job of a non-interactive shell passes SIG_IGN on, and Python then raises no KeyboardInterrupt)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _start(catalog: Path, subs: Path, out: Path) -> subprocess.Popen[str]:
    cmd = [GRADER] if GRADER else [sys.executable, "-m", "grader.cli"]
    return subprocess.Popen([*cmd, "batch", str(subs), "--out", str(out), "--catalog", str(catalog), "--jobs", "1"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=_default_sigint)


SLOW = "import time\ntime.sleep(0.5)\n"  # long enough that a signal sent after two lands before six


@pytest.fixture(scope="module")
def slow_class(tmp_path_factory) -> Path:
    files = {f"learner{i:02d}/tiny.py": f"# learner {i}\n" + SLOW + (GOOD if i % 3 else SIGN) for i in range(6)}
    return write_class(tmp_path_factory.mktemp("slow") / "class", files)


@pytest.fixture(scope="module")
def reference_out(catalog, slow_class, tmp_path_factory) -> Path:
    """The gradebook of an uninterrupted run over ``slow_class``."""
    out = tmp_path_factory.mktemp("reference") / "out"
    assert batch(catalog, slow_class, out).returncode == 0
    return out


@pytest.mark.slow
@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGINT], ids=["kill-9", "ctrl-c"])
def test_interrupted_batch_resumes_to_the_same_gradebook(catalog, slow_class, reference_out, tmp_path, how):
    out = tmp_path / "out"
    proc = _start(catalog, slow_class, out)
    deadline = time.monotonic() + 60
    seen = []
    while (seen[-1] if seen else 0) < 2 and time.monotonic() < deadline and proc.poll() is None:
        seen.append(_recorded(out))
        time.sleep(0.05)
    ended_first = proc.poll()
    proc.send_signal(how)
    stdout, stderr = proc.communicate(timeout=30)
    done_before = _recorded(out)
    assert 2 <= done_before < 6, (f"the run was not interrupted part-way: exit {proc.returncode} (ended before "
                                  f"the signal: {ended_first}), counts seen {seen[-8:]} in {len(seen)} polls\n"
                                  f"{stdout[-800:]}\n{stderr[-1500:]}")
    if how == signal.SIGINT:
        assert proc.returncode == 130 and "run the same command to resume" in stdout
    deadline = time.monotonic() + 10
    while _workers_of(out) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _workers_of(out) == [], "workers outlived the batch"
    resumed = batch(catalog, slow_class, out)
    assert resumed.returncode == 0, resumed.stderr
    assert f"graded {6 - done_before}, already graded {done_before}" in resumed.stdout
    reference = reference_out
    (got_subs, got_items), (want_subs, want_items) = gradebook_rows(out), gradebook_rows(reference)
    assert got_subs == want_subs and len(got_subs) == 6  # no learner lost or counted twice
    assert got_items == want_items
    assert csv_rows(out) == csv_rows(reference)
    runs = sqlite3.connect(out / "gradebook.sqlite").execute("SELECT interrupted FROM runs ORDER BY id").fetchall()
    assert runs == [(1,), (0,)]


HOSTILE_NAMES = ["=1+1", "<b>bold</b>", "-rf", "x\ny", "ünï code", "a&b;c"]


def test_hostile_names_stay_inside_the_output_folder_and_are_escaped(catalog, tmp_path):
    files = {f"{name}/tiny.py": GOOD for name in HOSTILE_NAMES[1:]}
    files["@cmd_tiny.py"] = SIGN
    files[f"{HOSTILE_NAMES[0]}_tiny.py"] = GOOD
    subs = write_class(tmp_path / "class", files)
    out = tmp_path / "out"
    before = {p for p in tmp_path.rglob("*") if out not in p.parents and p != out}
    res = batch(catalog, subs, out)
    assert res.returncode == 0, res.stderr
    after = {p for p in tmp_path.rglob("*") if out not in p.parents and p != out}
    assert after == before  # nothing written outside --out
    reports = sorted((out / "reports").rglob("*.html"))
    assert len(reports) == 7 and all(p.resolve().is_relative_to(out / "reports") for p in reports)
    assert all(len(p.relative_to(out / "reports").parts) == 2 for p in reports)
    rows = csv_rows(out)
    assert "'=1+1" in rows and "'@cmd" in rows and "'-rf" in rows and "x\ny" in rows
    page = (out / "summary.html").read_text()
    assert "<b>bold</b>" not in page
    assert "x?y" in res.stderr or "x\ny" not in res.stderr  # no raw control characters in log lines


def test_a_hostile_submission_does_not_change_the_others(catalog, tmp_path):
    rough = write_class(tmp_path / "class", {"alice/tiny.py": GOOD, "bob/tiny.py": SIGN, "carol/tiny.py": GOOD + "\n",
                                             "mallory/tiny.py": HOSTILE, "trent/tiny.py": BROKEN})
    res = batch(catalog, rough, tmp_path / "out", "--jobs", "2")  # mallory shares the machine with the others
    assert res.returncode == 0, res.stderr
    subs, items = gradebook_rows(tmp_path / "out")
    status = {r[0]: (r[5], r[7]) for r in subs}
    assert status == {"alice": (3, "ok"), "bob": (2, "ok"), "carol": (3, "ok"), "mallory": (2, "timeout"),
                      "trent": (0, "error")}  # mallory's d_exp looped; her d_square is still graded
    verdicts = {(r[0], r[2]): (r[7], r[8]) for r in items}
    assert verdicts[("bob", "d_exp")] == ("failed", "sign_error")
    assert all(verdicts[(who, item)] == ("passed", None) for who in ("alice", "carol") for item in ("d_exp", "d_square"))
    assert not list(rough.rglob("left_behind.txt"))


def test_output_inside_the_submissions_folder_is_refused(catalog, tmp_path):
    subs = write_class(tmp_path / "class", {"alice/tiny.py": GOOD})
    res = batch(catalog, subs, subs / "out")
    assert res.returncode == 2 and "must not be inside the submissions folder" in res.stderr


def test_a_folder_without_submissions_is_a_usage_error(catalog, tmp_path):
    subs = write_class(tmp_path / "class", {"readme.md": "hi"})
    res = batch(catalog, subs, tmp_path / "out")
    assert res.returncode == 2 and "no submissions found" in res.stderr and "tiny.py" in res.stderr


LEAVES_TRACES = '''import os, tempfile
for place in ("trace.txt", os.path.join(tempfile.gettempdir(), "trace.txt"), os.path.expanduser("~/trace.txt")):
    try:
        with open(place, "w") as fh:
            fh.write("learner a was here")
    except OSError:
        pass
os.environ["TRACE"] = "a"


def d_exp(x):
    from sympy import exp
    return exp(x)


def d_square(x):
    return 2*x
'''
LOOKS_FOR_TRACES = '''import os, tempfile
PLACES = ("trace.txt", os.path.join(tempfile.gettempdir(), "trace.txt"), os.path.expanduser("~/trace.txt"))
SEEN = any(os.path.exists(p) for p in PLACES) or "TRACE" in os.environ


def d_exp(x):
    from sympy import exp
    return exp(x)


def d_square(x):
    return x if SEEN else 2*x
'''


def test_a_learner_sees_nothing_an_earlier_learner_left_on_the_same_worker(catalog, tmp_path):
    subs = write_class(tmp_path / "class", {"a_writer/tiny.py": LEAVES_TRACES, "b_reader/tiny.py": LOOKS_FOR_TRACES})
    res = batch(catalog, subs, tmp_path / "out", "--jobs", "1")  # one worker: b runs right after a
    assert res.returncode == 0, res.stderr
    rows = csv_rows(tmp_path / "out")
    assert rows["a_writer"][-2] == rows["b_reader"][-2] == "3"


@pytest.mark.slow
@pytest.mark.parametrize("jobs", ["1", "2"])
def test_resume_right_after_kill_9_of_the_coordinator(catalog, slow_class, reference_out, tmp_path, jobs):
    """The OOM killer's way: SIGKILL the batch itself, resume at once (no wait); the workers are gone and
    the lock with them, and the resumed gradebook equals an uninterrupted run's."""
    out = tmp_path / "out"
    cmd = [GRADER] if GRADER else [sys.executable, "-m", "grader.cli"]
    proc = subprocess.Popen([*cmd, "batch", str(slow_class), "--out", str(out), "--catalog", str(catalog),
                             "--jobs", jobs], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while _recorded(out) < 2 and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
    proc.kill()
    proc.wait()
    done_before = _recorded(out)
    assert 2 <= done_before < 6, "the run was not interrupted part-way"
    resumed = batch(catalog, slow_class, out)
    assert resumed.returncode == 0, resumed.stderr
    assert f"already graded {done_before}" in resumed.stdout
    (got_subs, got_items), (want_subs, want_items) = gradebook_rows(out), gradebook_rows(reference_out)
    assert got_subs == want_subs and len(got_subs) == 6
    assert got_items == want_items
    assert csv_rows(out) == csv_rows(reference_out)


@pytest.mark.parametrize("value", ["bwarp", "  nonsense "], ids=["typo", "padded-nonsense"])
def test_a_sandbox_setting_that_cannot_be_met_stops_the_batch_before_grading(catalog, tmp_path, monkeypatch, value):
    """A typo in $GRADER_SANDBOX is the instructor's error: exit 2 before anything is graded, not a zero per file."""
    subs = write_class(tmp_path / "class", {"alice/tiny.py": GOOD, "bob/tiny.py": SIGN})
    out = tmp_path / "out"
    monkeypatch.setenv("GRADER_SANDBOX", value)
    res = batch(catalog, subs, out)
    assert res.returncode == 2, res.stderr
    assert "GRADER_SANDBOX" in res.stderr
    assert not (out / "gradebook.sqlite").exists() or gradebook_rows(out)[0] == []
    monkeypatch.delenv("GRADER_SANDBOX")
    res = batch(catalog, subs, out)  # the same command, fixed, grades everyone (nothing was stored as a zero)
    assert res.returncode == 0, res.stderr
    assert csv_rows(out) == {"alice": ["1", "2", "3", "3", "3"], "bob": ["0", "2", "2", "2", "3"]}
