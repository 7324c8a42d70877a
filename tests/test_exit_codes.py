"""Stable exit statuses: 0 graded (at or above --fail-under), 1 below it, 2 usage error, 3 internal error,
4 undecided (grader equiv), 141 output closed by its reader."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from grader import cli, errors

from .conftest import ROOT

GRADER = shutil.which("grader")
GOOD = "from sympy import exp\n\ndef d_exp(x):\n    return exp(x)\n\ndef d_square(x):\n    return 2 * x\n"
HALF = "from sympy import exp\n\ndef d_exp(x):\n    return exp(x)\n\ndef d_square(x):\n    return x\n"


def grade(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GITHUB_")}
    cmd = [GRADER] if GRADER else [sys.executable, "-m", "grader.cli"]
    return subprocess.run([*cmd, "grade", *args], capture_output=True, text=True, timeout=120, env=env,
                          check=False)


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("exit")
    paths = {"good": folder / "good_tiny.py", "half": folder / "half_tiny.py"}  # 3/3 and 1/3 points
    paths["good"].write_text(GOOD)
    paths["half"].write_text(HALF)
    return paths


@pytest.mark.parametrize("which,threshold,status", [
    ("half", "33", 0),
    ("half", "34", 1),
    ("good", "100", 0),
], ids=["just-above", "just-below", "full-marks-at-100"])
def test_fail_under(files, tiny_catalogue, tmp_path, which, threshold, status):
    out = grade(str(files[which]), "--catalog", str(tiny_catalogue), "--fail-under", threshold,
                "--json", str(tmp_path / "r.json"), "--junit", str(tmp_path / "j.xml"))
    assert out.returncode == status, out.stderr
    assert (tmp_path / "r.json").exists() and (tmp_path / "j.xml").exists()  # written before the status
    if status == 1:
        assert "grader: score 33.3% is below --fail-under 34%" in out.stderr
    else:
        assert out.stderr == ""


def invoke(*args: str):
    """In process (no interpreter start-up): for statuses decided before or without a real run."""
    return CliRunner().invoke(cli.main, ["grade", *args], env={"GITHUB_OUTPUT": None, "GITHUB_STEP_SUMMARY": None})


@pytest.mark.parametrize("args,message", [
    (["--fail-under", "150"], "is not in the range 0<=x<=100"),
    (["--fail-under", "much"], "'much' is not a valid float"),
    (["--format", "moodle"], "'moodle' is not one of 'gradescope', 'prairielearn'"),
    (["--exercise", "nope"], "unknown exercise 'nope'"),
], ids=["threshold-too-high", "threshold-not-a-number", "unknown-format", "unknown-exercise"])
def test_usage_errors_exit_2(files, tiny_catalogue, args, message):
    out = invoke(str(files["half"]), "--catalog", str(tiny_catalogue), *args)
    assert out.exit_code == 2
    assert message in out.output and "Traceback" not in out.output


def test_unwritable_junit_path_is_a_usage_error(files, tiny_catalogue, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    out = invoke(str(files["half"]), "--catalog", str(tiny_catalogue), "--junit", str(blocker / "j.xml"))
    assert out.exit_code == 2 and "cannot write" in out.output


def test_broken_catalogue_is_an_internal_error_3(files, tmp_path):
    (tmp_path / "exercises").mkdir()
    (tmp_path / "solutions").mkdir()
    (tmp_path / "exercises" / "tiny.py").write_text("def d_exp(x):\n    raise NotImplementedError\n")
    (tmp_path / "solutions" / "tiny.py").write_text("raise RuntimeError('reference file is broken')\n")
    out = invoke(str(files["half"]), "--catalog", str(tmp_path))
    assert out.exit_code == 3
    assert "reference file is broken" in out.output and "Traceback" not in out.output


def _table(text: str) -> dict[int, str]:
    section = text.split("## Exit statuses", 1)[1].split("\n## ", 1)[0]
    return {int(m.group(1)): m.group(2) for m in re.finditer(r"^\| (\d+) \| (.+?) \|$", section, re.M)}


def test_readme_and_cli_document_the_same_statuses():
    readme = _table((ROOT / "README.md").read_text(encoding="utf-8"))
    codes = [cli.EXIT_OK, cli.EXIT_BELOW, cli.EXIT_USAGE, cli.EXIT_INTERNAL, cli.EXIT_UNDECIDED,
             cli.EXIT_INTERRUPTED, cli.EXIT_OUTPUT_CLOSED]
    assert sorted(readme) == codes == [0, 1, 2, 3, 4, 130, 141]
    assert "--fail-under" in readme[1] and "usage" in readme[2] and "internal" in readme[3]
    assert "undecided" in readme[4] and "interrupted" in readme[130] and "closed" in readme[141]
    doc = cli.__doc__ or ""
    assert all(re.search(rf"^  {code}  ", doc, re.M) for code in readme)


def test_errors_own_their_status():
    assert errors.GraderError("x").exit_code == errors.CatalogueError("x").exit_code == cli.EXIT_INTERNAL
    assert errors.UsageError("x").exit_code == cli.EXIT_USAGE
    assert errors.OutputClosed(sys.stdout).exit_code == cli.EXIT_OUTPUT_CLOSED


def test_no_exit_outside_the_one_place():
    """Commands return their status; only cli.Grader.invoke ends the process with it."""
    # child processes end themselves, each in the one place that says why: (file, needle) -> how many
    allowed = {("batch_worker.py", "raise SystemExit"): 1}  # the worker's SIGTERM handler unwinds its run
    offenders = []
    for path in sorted((ROOT / "grader").rglob("*.py")):
        if path.name in ("_child.py", "_zygote.py"):  # the learner's side: it never returns to a command
            continue
        text = path.read_text(encoding="utf-8")
        for needle in ("sys.exit(", "raise SystemExit"):
            extra = text.count(needle) - allowed.get((path.name, needle), 0)
            offenders += [f"{path.name}: {needle}"] * max(extra, 0)
        if path.name != "cli.py" and "ctx.exit(" in text:
            offenders.append(f"{path.name}: ctx.exit(")
    assert offenders == []
    assert (ROOT / "grader" / "cli.py").read_text(encoding="utf-8").count("ctx.exit(") == 1


def _closed_pipe_run(*args: str) -> subprocess.CompletedProcess[bytes]:
    """Run ``grader ARGS`` with stdout a pipe whose reader has already gone (``| head`` that finished)."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    cmd = [GRADER] if GRADER else [sys.executable, "-m", "grader.cli"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("GITHUB_")}
    try:
        return subprocess.run([*cmd, *args], stdout=write_end, stderr=subprocess.PIPE, timeout=120, env=env,
                              check=False)
    finally:
        os.close(write_end)


@pytest.mark.parametrize("command", [
    ["list"],
    ["grade", "{good}", "--json", "{json}"],
    ["equiv", "x^2", "x*x"],
], ids=["list", "grade", "equiv"])
def test_output_closed_by_the_reader_ends_quietly(files, tiny_catalogue, tmp_path, command):
    args = [a.format(good=files["good"], json=tmp_path / "r.json") for a in command]
    if command[0] != "equiv":
        args += ["--catalog", str(tiny_catalogue)]
    out = _closed_pipe_run(*args)
    assert out.returncode == cli.EXIT_OUTPUT_CLOSED == 141, out.stderr
    assert out.stderr == b""  # no "internal error: BrokenPipeError", no "Exception ignored" at exit
    if command[0] == "grade":
        assert (tmp_path / "r.json").exists()  # the reports are written before anything is printed


def test_head_reading_one_byte_stops_a_long_jsonl_run(tmp_path):
    """A real ``grader equiv --jsonl ... | head -c 1``: far more output than a pipe holds."""
    path = tmp_path / "many.jsonl"
    path.write_text('{"a": "x^2", "b": "x*x"}\n' * 3000, encoding="utf-8")
    cmd = [GRADER] if GRADER else [sys.executable, "-m", "grader.cli"]
    with subprocess.Popen([*cmd, "equiv", "--jsonl", str(path)], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE) as grader:
        assert grader.stdout is not None and grader.stderr is not None
        head = subprocess.run(["head", "-c", "1"], stdin=grader.stdout, capture_output=True, timeout=120,
                              check=False)
        grader.stdout.close()  # only head read the pipe, and head is gone
        err = grader.stderr.read()
        status = grader.wait(timeout=120)
    assert status == 141 and head.stdout == b"{"
    assert b"internal error" not in err and err == b""
