"""The quality gate: ruff and mypy, configured in pyproject.toml, report nothing on grader/."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys

import pytest

from .conftest import ROOT


def _tool(module: str) -> None:
    if importlib.util.find_spec(module) is None:
        if os.environ.get("CI"):
            pytest.fail(f"{module} is not installed: it is in the 'test' extra (pip install '.[test]')")
        pytest.skip(f"{module} is not installed (pip install '.[test]')")


def _run(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", *argv], cwd=ROOT, capture_output=True, text=True,
                          timeout=600, check=False)


def test_ruff_finds_nothing_in_the_package():
    _tool("ruff")
    done = _run("ruff", "check", "--no-cache", "grader")
    assert done.returncode == 0, done.stdout + done.stderr


def test_mypy_finds_nothing_in_the_package(tmp_path):
    _tool("mypy")
    done = _run("mypy", "--cache-dir", str(tmp_path / "mypy-cache"))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Success" in done.stdout
