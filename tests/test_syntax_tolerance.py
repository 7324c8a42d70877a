"""A syntax error costs only what it breaks: top-level blocks that do not compile are dropped and reported."""

from __future__ import annotations

import textwrap

import pytest

from grader.grading import grade_file
from grader.notebooks import from_python, keep_compiling


def _src(text: str) -> str:
    return textwrap.dedent(text).lstrip("\n")


def test_a_file_that_compiles_is_run_as_it_is():
    text = "def f(x):\n    return x\n"
    src = from_python(text)
    assert src.code == text and not src.changed and src.notes == ()


def test_one_broken_function_is_dropped_and_the_lines_keep_their_numbers():
    text = _src('''
        import sympy


        def good(x):
            return x


        def broken(x)
            return x + 1


        def also_good(x):
            return 2 * x
        ''')
    code, dropped = keep_compiling(text)
    assert [(s, e) for s, e, _, _ in dropped] == [(8, 9)]
    assert dropped[0][3] == ("broken",)
    assert dropped[0][2].lineno == 8
    assert code.split("\n")[7:9] == ["", ""]
    assert code.split("\n")[11] == "def also_good(x):"
    compile(code, "kept", "exec")


def test_a_docstring_with_text_at_column_zero_is_not_split():
    text = _src('''
        def f(x):
            """Docs
        at column zero, still inside the string.
        """
            return x


        def g(x)
            return x
        ''')
    code, dropped = keep_compiling(text)
    assert [d[3] for d in dropped] == [("g",)]
    assert "at column zero" in code


def test_decorators_else_and_continuations_stay_with_their_statement():
    text = _src('''
        @staticmethod
        def f(x):
            return x
        if True:
            y = 1
        else:
            y = 2
        z = 1 + \\
        2
        def broken(:
            pass
        ''')
    code, dropped = keep_compiling(text)
    assert len(dropped) == 1 and dropped[0][3] == ("broken",)
    assert "else:" in code and "@staticmethod" in code and "2" in code.split("\n")[8]


def test_an_unclosed_bracket_costs_its_statement_and_the_rest_is_kept():
    text = "x = (1,\n\ndef f(y):\n    return y\n"
    code, dropped = keep_compiling(text)
    assert dropped and dropped[0][0] == 1
    assert "def f(y):" in code


def test_a_file_of_nothing_but_garbage_is_dropped_whole():
    code, dropped = keep_compiling("    )))\n")
    assert code == "" and len(dropped) == 1


def test_hostile_many_unclosed_strings_stays_cheap():
    text = '"""\n' + "x = 1\n" * 20000
    _, dropped = keep_compiling(text)
    assert dropped  # the unterminated string is reported, and the search was bounded


def test_grading_a_file_with_one_broken_function_costs_only_its_item(tmp_path, catalogue, fast_limits):
    path = tmp_path / "derivatives.py"
    path.write_text(_src('''
        import sympy


        def d_exp(x):
            return sympy.exp(x)


        def d_log(x)
            return 1 / x


        def d_exp_neg(x):
            return -sympy.exp(-x)
        '''))
    result = grade_file(path, catalogue["derivatives"], fast_limits)
    by = {i.item: i for i in result.items}
    assert by["d_exp"].status == "passed" and by["d_exp_neg"].status == "passed"
    assert by["d_log"].points == 0
    assert by["d_log"].diagnosis == "import_error"
    assert "SyntaxError on line 8" in by["d_log"].feedback
    assert by["d_log"].error is not None and by["d_log"].error.frames[0].text == "def d_log(x)"
    assert any(n.startswith("lines 8-9 not run (defining d_log): SyntaxError") for n in result.notes)
    assert result.import_error is None


@pytest.mark.parametrize("broken", ["def f(:\n", "return 1\n", "x = = 2\n", "class C\n    pass\n"])
def test_every_kind_of_broken_block_is_dropped_alone(broken):
    text = "a = 1\n" + broken + "b = 2\n"
    code, dropped = keep_compiling(text)
    assert len(dropped) == 1
    assert "a = 1" in code and "b = 2" in code
