"""The Gradescope bundle: build the zip, unpack it into a folder standing in for /autograder, run it."""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner

from grader import __version__, bundle
from grader.catalogue import load_catalogue
from grader.cli import main

from .conftest import TESTS

SCHEMA = json.loads((TESTS / "schemas" / "gradescope_results.schema.json").read_text())
GRADER = shutil.which("grader")
WHEEL = f"grader-{__version__}-py3-none-any.whl"


def grader_cmd(*args: str, env=None) -> subprocess.CompletedProcess[str]:
    cmd = [GRADER] if GRADER else [sys.executable, "-m", "grader.cli"]
    return subprocess.run([*cmd, *args], capture_output=True, text=True, timeout=120, env=env)


@pytest.fixture(scope="module")
def tiny(tiny_catalogue):
    (ex,) = load_catalogue(tiny_catalogue)
    return ex


@pytest.fixture(scope="module")
def built(tiny_catalogue, tmp_path_factory) -> Path:
    """The zip built through the CLI, as an instructor would."""
    out = tmp_path_factory.mktemp("bundle") / "autograder.zip"
    done = grader_cmd("gradescope-bundle", "--exercise", "tiny", "-o", str(out), "--catalog", str(tiny_catalogue),
                      "--timeout", "5")
    assert done.returncode == 0, done.stderr
    assert "autograder.zip" in done.stdout
    return out


@pytest.fixture(scope="module")
def autograder_root(built, tmp_path_factory) -> Path:
    """What Gradescope's image holds after setup.sh: source/ unpacked, run_autograder copied up, and the
    grader installed from the bundle's own wheel (into a folder on PYTHONPATH instead of a venv)."""
    root = tmp_path_factory.mktemp("autograder")
    with zipfile.ZipFile(built) as zf:
        zf.extractall(root / "source")
        for info in zf.infolist():  # zipfile does not restore modes
            os.chmod(root / "source" / info.filename, (info.external_attr >> 16) & 0o777)
    shutil.copy2(root / "source" / "run_autograder", root / "run_autograder")
    site = root / "site"
    pip = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-compile",
                          "--disable-pip-version-check", "--target", str(site),
                          str(root / "source" / "dist" / WHEEL)], capture_output=True, text=True, timeout=300)
    assert pip.returncode == 0, pip.stderr
    return root


def run_autograder(root: Path, submission: dict[str, str]) -> tuple[subprocess.CompletedProcess[str], dict]:
    shutil.rmtree(root / "submission", ignore_errors=True)
    shutil.rmtree(root / "results", ignore_errors=True)
    for name, text in submission.items():
        (root / "submission" / name).parent.mkdir(parents=True, exist_ok=True)
        (root / "submission" / name).write_text(text)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "GRADER_"))}
    env.update(AUTOGRADER_ROOT=str(root), GRADER_PYTHON=sys.executable, PYTHONPATH=str(root / "site"))
    done = subprocess.run([str(root / "run_autograder")], capture_output=True, text=True, timeout=300,
                          env=env, cwd=root)
    path = root / "results" / "results.json"
    return done, (json.loads(path.read_text()) if path.exists() else {})


GOOD = "from sympy import exp\n\ndef d_exp(x):\n    return exp(x)\n\ndef d_square(x):\n    return 2 * x\n"
HALF = "from sympy import exp\n\ndef d_exp(x):\n    return exp(x)\n\ndef d_square(x):\n    return x\n"


def test_zip_layout_and_modes(built):
    with zipfile.ZipFile(built) as zf:
        names = set(zf.namelist())
        modes = {i.filename: (i.external_attr >> 16) & 0o777 for i in zf.infolist()}
        run = zf.read("run_autograder").decode()
        setup = zf.read("setup.sh").decode()
    assert names == {"setup.sh", "run_autograder", f"dist/{WHEEL}", "catalog/exercises/tiny.py",
                     "catalog/solutions/tiny.py"}
    assert modes["setup.sh"] == modes["run_autograder"] == 0o755
    assert "--exercise tiny" in run and "--timeout 5" in run and 'AUTOGRADER_ROOT:-/autograder' in run
    assert f'"$SOURCE/dist/{WHEEL}"' in setup and 'AUTOGRADER_ROOT:-/autograder' in setup
    for script in ("setup.sh", "run_autograder"):
        text = setup if script == "setup.sh" else run
        assert text.startswith("#!/usr/bin/env bash\n")
        assert subprocess.run(["bash", "-n"], input=text, text=True).returncode == 0  # parses


def test_wheel_is_well_formed_and_carries_no_catalogue(built):
    with zipfile.ZipFile(built) as outer:
        wheel = zipfile.ZipFile(io.BytesIO(outer.read(f"dist/{WHEEL}")))
    names = wheel.namelist()
    info = f"grader-{__version__}.dist-info"
    assert {"grader/__init__.py", "grader/cli.py", "grader/bundle.py", "grader/templates/gradescope/setup.sh.j2",
            f"{info}/METADATA", f"{info}/WHEEL", f"{info}/RECORD", f"{info}/entry_points.txt"} <= set(names)
    assert not [n for n in names if "__pycache__" in n or "_catalog" in n or n.endswith(".pyc")]
    meta = wheel.read(f"{info}/METADATA").decode()
    assert f"Version: {__version__}" in meta and "Requires-Dist: sympy" in meta and "pytest" not in meta
    assert "Requires-Python: >=3.10" in meta
    rows = list(csv.reader(io.StringIO(wheel.read(f"{info}/RECORD").decode())))
    assert {r[0] for r in rows} == set(names)
    for name, digest, size in rows:
        if name.endswith("RECORD"):
            continue
        data = wheel.read(name)
        want = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        assert digest == f"sha256={want}" and int(size) == len(data)
    assert "grader = grader.cli:main" in wheel.read(f"{info}/entry_points.txt").decode()


def test_run_autograder_grades_a_submission_from_the_installed_wheel(autograder_root):
    done, doc = run_autograder(autograder_root, {"tiny.py": HALF})
    assert done.returncode == 0, done.stderr
    jsonschema.validate(doc, SCHEMA, cls=jsonschema.Draft202012Validator)
    assert doc["score"] == 1.0
    assert [(t["extra_data"]["item"], t["status"], t["visibility"]) for t in doc["tests"]] == [
        ("d_exp", "passed", "visible"), ("d_square", "failed", "after_published")]
    # run_autograder ran the wheel's copy of the grader (same PYTHONPATH and working directory)
    assert str(autograder_root / "site" / "grader") in subprocess.run(
        [sys.executable, "-c", "import grader; print(grader.__file__)"], capture_output=True, text=True,
        env={**os.environ, "PYTHONPATH": str(autograder_root / "site")}, cwd=autograder_root).stdout
    assert "Total: 1 / 3" in done.stdout


def test_ambiguous_upload_scores_zero_with_a_reason(tmp_path, tiny):
    (tmp_path / "submission").mkdir()
    for name in ("a.py", "b.py"):
        (tmp_path / "submission" / name).write_text(GOOD)
    done = bundle.autograde(tmp_path, tiny)
    doc = json.loads(done.results_path.read_text())
    jsonschema.validate(doc, SCHEMA, cls=jsonschema.Draft202012Validator)
    assert doc["score"] == 0 and "several .py files (a.py, b.py)" in doc["output"] and "tiny.py" in doc["output"]


def _touch(folder: Path, *names: str) -> None:
    for name in names:
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text("x = 1\n")


@pytest.mark.parametrize("files,expected", [
    (["tiny.py", "helpers.py"], "tiny.py"),
    (["notes.txt", "deep/er/tiny.py", "other.py"], "deep/er/tiny.py"),
    (["alice_tiny.py", "scratch.py"], "alice_tiny.py"),
    (["whatever.py", "__MACOSX/._whatever.py", "__pycache__/x.py"], "whatever.py"),
], ids=["exact", "exact-nested", "suffixed", "ignores-junk"])
def test_find_submission_picks(tmp_path, tiny, files, expected):
    _touch(tmp_path, *files)
    assert bundle.find_submission(tmp_path, tiny) == tmp_path / expected


@pytest.mark.parametrize("files,message", [
    ([], "has no .py file. Upload your completed tiny.py"),
    (["readme.md"], "has no .py file"),
    (["a.py", "b.py"], "several .py files (a.py, b.py) and none is named tiny.py"),
], ids=["empty", "no-python", "ambiguous"])
def test_find_submission_explains(tmp_path, tiny, files, message):
    _touch(tmp_path, *files)
    found = bundle.find_submission(tmp_path, tiny)
    assert isinstance(found, str) and message in found


def test_autograde_without_submission_folder_writes_zero(tmp_path, tiny):
    done = bundle.autograde(tmp_path, tiny)
    doc = json.loads(done.results_path.read_text())
    assert done.result is None and doc["score"] == 0 and "upload tiny.py" in doc["output"]
    jsonschema.validate(doc, SCHEMA, cls=jsonschema.Draft202012Validator)


def test_autograde_non_utf8_file_is_the_learners_problem(tmp_path, tiny):
    (tmp_path / "submission").mkdir()
    (tmp_path / "submission" / "tiny.py").write_bytes(b"\xff\xfe junk")
    done = bundle.autograde(tmp_path, tiny)
    assert done.problem and "tiny.py is not UTF-8" in done.problem and str(tmp_path) not in done.problem
    assert json.loads(done.results_path.read_text())["score"] == 0


def test_build_writes_scripts_executable_and_refuses_unwritable(tmp_path, tiny):
    made = bundle.build(tiny, tmp_path / "out" / "ag.zip")
    assert made.path.exists() and made.wheel == WHEEL and "setup.sh" in made.members
    blocker = tmp_path / "file"
    blocker.write_text("")
    from grader.errors import UsageError
    with pytest.raises(UsageError, match="cannot write"):
        bundle.build(tiny, blocker / "ag.zip")


@pytest.mark.parametrize("args,message", [
    (["gradescope-bundle", "--exercise", "nope"], "unknown exercise 'nope'"),
    (["gradescope-bundle"], "Missing option '--exercise'"),
], ids=["unknown-exercise", "no-exercise"])
def test_bundle_usage_errors_exit_2(args, message):
    done = CliRunner().invoke(main, args)
    assert done.exit_code == 2 and message in done.output and "Traceback" not in done.output


def test_symlink_out_of_the_upload_is_ignored(tmp_path, tiny):
    upload = tmp_path / "submission"
    upload.mkdir()
    secret = tmp_path / "source" / "catalog" / "solutions" / "tiny.py"
    secret.parent.mkdir(parents=True)
    secret.write_text("reference")
    (upload / "tiny.py").symlink_to(secret)
    (upload / "mine.py").write_text(GOOD)
    assert bundle.find_submission(upload, tiny) == upload / "mine.py"


def test_every_catalogue_exercise_bundles_a_loadable_catalogue(catalogue, tmp_path):
    """The zip's catalog/ must load on its own: a reference that needs a file the bundle left out fails here."""
    for name, ex in catalogue.items():
        made = bundle.build(ex, tmp_path / f"{name}.zip")
        unpacked = tmp_path / name
        with zipfile.ZipFile(made.path) as zf:
            zf.extractall(unpacked)
        (loaded,) = load_catalogue(unpacked / "catalog")
        assert loaded.name == name and [i.name for i in loaded.items] == [i.name for i in ex.items]
        assert loaded.submission_suffix == ex.submission_suffix


def test_a_notebook_upload_is_found_and_the_py_file_preferred(tmp_path, catalogue):
    from grader.bundle import find_submission

    ex = catalogue["derivatives"]
    up = tmp_path / "submission"
    up.mkdir()
    (up / "derivatives.ipynb").write_text("{}")
    assert find_submission(up, ex) == up / "derivatives.ipynb"
    (up / "derivatives.py").write_text("")
    assert find_submission(up, ex) == up / "derivatives.py"
    empty = tmp_path / "empty"
    empty.mkdir()
    assert "(derivatives.ipynb works too)" in find_submission(empty, ex)


def test_a_notebook_is_autograded_in_the_container_layout(tmp_path, catalogue):
    from grader.bundle import autograde
    from tests.notebook_support import D_EXP, code, notebook

    (tmp_path / "submission").mkdir()
    (tmp_path / "submission" / "derivatives.ipynb").write_text(notebook(code(D_EXP)))
    done = autograde(tmp_path, catalogue["derivatives"])
    assert done.result is not None and done.result.items[0].status == "passed"
