"""The installed package holds no course: a wheel carries no solutions, the catalogue is found from the checkout."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from grader.catalogue import find_catalogue
from grader.errors import UsageError

ROOT = Path(__file__).resolve().parent.parent


def _solution_texts() -> list[str]:
    """Distinctive lines of every reference file (decorated definitions), to look for in the wheel."""
    lines = []
    for path in (ROOT / "solutions").glob("*.py"):
        lines += [ln.strip() for ln in path.read_text(encoding="utf-8").splitlines()
                  if ln.strip().startswith(("@symbolic(", "@numeric(", "@backprop(", "@question("))]
    return lines


@pytest.mark.slow
def test_a_built_wheel_holds_no_solutions(tmp_path):
    src = tmp_path / "src"
    shutil.copytree(ROOT, src, ignore=shutil.ignore_patterns(".venv", ".git", "build", "*.egg-info", "__pycache__",
                                                             ".mypy_cache", ".pytest_cache"))
    out = tmp_path / "dist"
    done = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(src)],
                          check=False, capture_output=True, text=True, timeout=300)
    if done.returncode != 0:
        pytest.skip(f"no wheel could be built here (offline without setuptools?): {done.stderr[-300:]}")
    (wheel,) = out.glob("grader-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "grader/cli.py" in names and "grader/lms/export.py" in names
    assert not [n for n in names if "solutions/" in n or "_catalog" in n or n.startswith("exercises/")]
    text = b"".join(zipfile.ZipFile(wheel).read(n) for n in names)
    assert not [ln for ln in _solution_texts() if ln.encode() in text]


def test_the_checkout_catalogue_is_found_from_its_folder_even_when_installed_elsewhere(monkeypatch, tmp_path):
    import grader.catalogue as catalogue

    monkeypatch.delenv("GRADER_CATALOG", raising=False)
    monkeypatch.setattr(catalogue, "_PKG", tmp_path / "site-packages" / "grader")  # an installed copy
    monkeypatch.chdir(ROOT / "examples")  # somewhere inside the checkout
    assert find_catalogue() == ROOT.resolve()


def test_without_a_checkout_an_installed_grader_has_no_catalogue(monkeypatch, tmp_path):
    import grader.catalogue as catalogue

    monkeypatch.delenv("GRADER_CATALOG", raising=False)
    monkeypatch.setattr(catalogue, "_PKG", tmp_path / "site-packages" / "grader")
    (tmp_path / "learner" / "exercises").mkdir(parents=True)  # a learner's repo: templates, no solutions
    monkeypatch.chdir(tmp_path / "learner")
    with pytest.raises(UsageError, match="no exercise catalogue here.*--catalog DIR.*grader check FILE --kit DIR"):
        find_catalogue()


def test_the_environment_variable_still_wins(monkeypatch, tmp_path):
    (tmp_path / "exercises").mkdir()
    (tmp_path / "solutions").mkdir()
    monkeypatch.setenv("GRADER_CATALOG", os.fspath(tmp_path))
    assert find_catalogue() == tmp_path.resolve()
