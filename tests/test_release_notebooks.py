"""Releasing templates as notebooks, and the round trip: release, fill with the reference, grade, full marks."""

from __future__ import annotations

import ast
import json

import pytest
from click.testing import CliRunner

from grader.cli import main
from grader.commands import release_catalogue
from grader.grading import grade_file
from grader.notebooks import from_notebook


def _reference_parts(solution_text: str) -> tuple[str, dict[str, str]]:
    """The reference's setup code (imports but the grader's, private helpers) and each function's source."""
    tree = ast.parse(solution_text)
    lines = solution_text.split("\n")
    setup, functions = [], {}
    for stmt in tree.body:
        text = "\n".join(lines[stmt.lineno - 1:stmt.end_lineno])
        if isinstance(stmt, ast.ImportFrom) and (stmt.module or "").startswith("grader"):
            continue
        if isinstance(stmt, ast.FunctionDef) and stmt.decorator_list:
            functions[stmt.name] = text
        elif isinstance(stmt, (ast.Import, ast.ImportFrom, ast.FunctionDef)):
            setup.append(text)
    return "\n\n".join(setup), functions


def test_a_released_notebook_has_the_task_the_stub_and_a_self_check(tmp_path, catalogue_root):
    (path,) = release_catalogue(tmp_path, ("derivatives",), catalogue_root)
    nb = json.loads(path.read_text())
    assert nb["nbformat"] == 4 and nb["nbformat_minor"] == 5
    kinds = [c["cell_type"] for c in nb["cells"]]
    assert kinds[:4] == ["markdown", "code", "markdown", "code"]
    assert nb["cells"][2]["source"].startswith("### `d_exp`\n\nReturn d/dx e^x.")
    assert nb["cells"][3]["source"].startswith("def d_exp(x):")
    assert nb["cells"][-1]["source"] == "!grader grade derivatives.ipynb"
    assert len({c["id"] for c in nb["cells"]}) == len(nb["cells"])
    assert from_notebook(path.read_text()).problem is None


def test_the_quiz_is_not_released_and_an_unknown_name_is_refused(tmp_path, catalogue_root):
    names = {p.name for p in release_catalogue(tmp_path, (), catalogue_root)}
    assert "quiz.ipynb" not in names and "derivatives.ipynb" in names
    from grader.errors import UsageError
    with pytest.raises(UsageError, match="unknown exercise 'nope'"):
        release_catalogue(tmp_path, ("nope",), catalogue_root)


@pytest.mark.slow
def test_round_trip_release_fill_grade_full_marks_for_every_code_exercise(tmp_path, catalogue_root, catalogue):
    for path in release_catalogue(tmp_path / "released", (), catalogue_root):
        ex = catalogue[path.stem]
        setup, bodies = _reference_parts(ex.solution.read_text())
        nb = json.loads(path.read_text())
        for cell in nb["cells"]:
            if cell["cell_type"] != "code":
                continue
            src = cell["source"]
            name = src.split("(")[0].removeprefix("def ").strip() if src.startswith("def ") else None
            if name in bodies:
                cell["source"] = bodies[name]
            elif not src.startswith("!"):
                cell["source"] = src + "\n\n" + setup
        filled = tmp_path / "filled" / path.name
        filled.parent.mkdir(exist_ok=True)
        filled.write_text(json.dumps(nb))
        result = grade_file(filled, ex)
        assert result.score == result.max_score, (ex.name, [(i.item, i.feedback) for i in result.items
                                                           if i.status != "passed"], result.notes)
        assert any("!grader grade" in n for n in result.notes)  # the self-check cell is dropped, with a note


def test_the_command_writes_the_notebooks(tmp_path, catalogue_root):
    res = CliRunner().invoke(main, ["release-notebooks", str(tmp_path), "-e", "derivatives", "--no-self-check",
                                    "--catalog", str(catalogue_root)])
    assert res.exit_code == 0, res.output
    nb = json.loads((tmp_path / "derivatives.ipynb").read_text())
    assert "!grader" not in nb["cells"][-1]["source"]
