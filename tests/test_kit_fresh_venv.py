"""Done when: a fresh virtual environment with only the ``grader`` package (a wheel built from this checkout, no
course inside) checks learners' files against an unpacked learner kit, with the verdicts the issue states."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest

from grader.encoding import decode_value

from .test_kit import _reference_texts

ROOT = Path(__file__).resolve().parent.parent
SEED = 1234


def _run(cmd, cwd, timeout=600):
    started = time.perf_counter()
    done = subprocess.run(cmd, check=False, capture_output=True, text=True, cwd=cwd, timeout=timeout,
                          env={k: v for k, v in os.environ.items() if k not in ("GRADER_CATALOG", "PYTHONPATH",
                                                                                  "GRADER_KIT")})
    return done, time.perf_counter() - started


@pytest.fixture(scope="module")
def fresh(tmp_path_factory):
    """(the fresh venv's grader command, the learner's folder with the unpacked kit)."""
    tmp = tmp_path_factory.mktemp("fresh")
    src = tmp / "src"
    shutil.copytree(ROOT, src, ignore=shutil.ignore_patterns(".venv", ".git", "build", "*.egg-info", "__pycache__",
                                                             ".mypy_cache", ".pytest_cache"))
    built, _ = _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp / "dist"), str(src)], tmp)
    if built.returncode != 0:
        pytest.skip(f"no wheel could be built here (no setuptools/wheel reachable): {built.stderr[-300:]}")
    (wheel,) = (tmp / "dist").glob("grader-*.whl")
    venv = tmp / "venv"
    made, _ = _run([sys.executable, "-m", "venv", str(venv)], tmp)
    assert made.returncode == 0, made.stderr
    python = venv / "bin" / "python"
    purelib = Path(subprocess.check_output([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()"
                                                               "['purelib'])"], text=True).strip())
    # the dependencies (sympy, numpy, click, jinja2) offline, from this interpreter's site-packages, seen
    # through a folder of links that leaves out every trace of grader itself (installed, editable or its
    # .pth files): otherwise pip would find grader "already installed" there and install nothing here
    deps = tmp / "deps"
    deps.mkdir()
    for entry in Path(sysconfig.get_paths()["purelib"]).iterdir():
        name = entry.name.lower()
        if name.startswith(("grader", "__editable__", "_grader")) or name.endswith(".pth"):
            continue
        (deps / entry.name).symlink_to(entry)
    (purelib / "_grader_deps.pth").write_text(str(deps) + "\n")
    installed, _ = _run([str(python), "-m", "pip", "install", "--no-deps", "--no-index", "-q", str(wheel)], tmp)
    assert installed.returncode == 0, installed.stderr
    # the instructor releases the kit from the checkout and zips it; the learner unpacks it in a new folder
    released, _ = _run([sys.executable, "-m", "grader.cli", "release", "--out", str(tmp / "kit"), "--seed", str(SEED),
                        "-e", "derivatives", "-e", "backprop"], ROOT)
    assert released.returncode == 0, released.stderr
    archive = shutil.make_archive(str(tmp / "kit"), "zip", tmp / "kit")
    learner = tmp / "learner"
    with zipfile.ZipFile(archive) as z:
        z.extractall(learner / "kit")
    return venv / "bin" / "grader", learner


def _check(fresh, name, text):
    grader, learner = fresh
    path = learner / f"{name}.py"
    path.write_text(text)
    done, seconds = _run([str(grader), "check", path.name, "--kit", "kit", "--sandbox", "rlimits", "--json",
                          "r.json"], learner)
    assert "Traceback" not in done.stderr, done.stderr
    return done, seconds


def test_the_fresh_install_holds_no_course(fresh):
    grader, learner = fresh
    site = grader.parent.parent / "lib"
    assert not list(site.rglob("solutions")) and not list(site.rglob("derivatives.py"))
    done, _ = _run([str(grader), "grade", "kit/derivatives.py", "--sandbox", "rlimits"], learner)
    assert done.returncode == 2 and "no exercise catalogue" in done.stderr and "grader check" in done.stderr


def test_a_correct_file_is_all_right_on_what_was_checked(fresh):
    for name in ("derivatives", "backprop"):
        bundle = json.loads((fresh[1] / "kit" / f"{name}.check.json").read_text())
        n = len(bundle["items"])
        done, _ = _check(fresh, name, (ROOT / "solutions" / f"{name}.py").read_text())
        assert done.returncode == 0, done.stderr
        last = done.stdout.strip().splitlines()[-1]
        assert last.startswith(f"{n} of {n} items checked: {n} right, 0 wrong"), last
        assert "all passed" not in done.stdout.lower()


def test_a_partly_wrong_file_is_told_what_is_wrong(fresh):
    text = (ROOT / "solutions" / "derivatives.py").read_text() + "\n\ndef d_exp_neg(x):\n    return exp(-x)\n"
    done, _ = _check(fresh, "derivatives", text)
    assert done.returncode == 0
    last = done.stdout.strip().splitlines()[-1]
    assert ", 1 wrong" in last and "d_exp_neg" in done.stdout and "chain rule" in done.stdout


def _lookup_table_forward(kit: Path) -> str:
    """A backprop file whose forward returns the kit's stored outputs for the kit's own inputs (zeros otherwise)."""
    record = next(r for r in json.loads((kit / "backprop.check.json").read_text())["items"] if r["name"] == "forward")
    table = {}
    for index, override, out in record["functions"]["forward"]["entries"]:
        if override:
            continue
        X = decode_value(record["cases"][index]["args"]["X"])
        key = hashlib.sha256(np.ascontiguousarray(X).tobytes()).hexdigest()
        table[key] = {k: [list(v.shape), base64.b64encode(np.ascontiguousarray(v).tobytes()).decode()]
                      for k, v in decode_value(out).items()}
    return (f"import base64, hashlib\nimport numpy as np\n_T = {json.dumps(table)}\n\n"
            "def forward(X, params):\n"
            "    hit = _T.get(hashlib.sha256(np.ascontiguousarray(X).tobytes()).hexdigest())\n"
            "    if hit is None:\n"
            "        return {k: np.zeros(1) for k in ('Z1', 'A1', 'Z2', 'A2')}\n"
            "    return {k: np.frombuffer(base64.b64decode(b)).reshape(s).copy() for k, (s, b) in hit.items()}\n")


def test_a_file_hard_coding_the_kit_passes_check_and_fails_the_grade(fresh, tmp_path):
    _, learner = fresh
    text = _lookup_table_forward(learner / "kit")
    done, _ = _check(fresh, "backprop", text)
    assert done.returncode == 0, done.stderr
    checked = {t["name"].split(":")[0]: t["status"] for t in json.loads((learner / "r.json").read_text())["tests"]}
    assert checked["forward"] == "passed"
    sub = tmp_path / "backprop.py"
    sub.write_text(text)
    graded, _ = _run([sys.executable, "-m", "grader.cli", "grade", str(sub), "--sandbox", "rlimits", "--json",
                      str(tmp_path / "g.json")], ROOT)
    assert graded.returncode == 0, graded.stderr
    statuses = {t["name"].split(":")[0]: t["status"] for t in json.loads((tmp_path / "g.json").read_text())["tests"]}
    assert statuses["forward"] == "failed"


HOSTILE = '''import os, sys
from sympy import exp

print("x" * 10_000_000)

def d_exp(x):
    while True:
        pass

def d_exp_neg(x):
    raise SystemExit(0)

def d_pow_base(x, a):
    return open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "kit", "derivatives.check.json")).read()

def d_log(x):
    os.kill(os.getpid(), 9)
'''


def test_a_hostile_file_is_checked_and_loses_its_points_without_harm(fresh):
    done, _ = _check(fresh, "derivatives", HOSTILE)
    assert done.returncode == 0, done.stderr
    last = done.stdout.strip().splitlines()[-1]
    assert " 0 right" in last and "all passed" not in done.stdout.lower()
    assert (fresh[1] / "kit" / "derivatives.check.json").exists()


def test_the_unpacked_kit_holds_no_reference_expression_or_source(fresh):
    kit = fresh[1] / "kit"
    text = "\n".join(p.read_text(encoding="utf-8") for p in kit.glob("*.check.json"))
    assert not sorted(t for t in _reference_texts() if t in text)
    assert not list(kit.rglob("solutions*"))


def test_check_and_grade_wall_time(fresh, tmp_path, capsys):
    """Not a limit: the figures the closing note reports (check in the fresh venv, grade in the checkout)."""
    _, learner = fresh
    lines = []
    for name in ("derivatives", "backprop"):
        text = (ROOT / "solutions" / f"{name}.py").read_text()
        _, checked = _check(fresh, name, text)
        (tmp_path / f"{name}.py").write_text(text)
        _, graded = _run([sys.executable, "-m", "grader.cli", "grade", str(tmp_path / f"{name}.py"), "--sandbox",
                          "rlimits"], ROOT)
        size = (learner / "kit" / f"{name}.check.json").stat().st_size
        lines.append(f"{name}: check {checked:.2f} s, grade {graded:.2f} s, bundle {size / 1024:.0f} KiB")
    with capsys.disabled():
        print("\n" + "\n".join(lines))
