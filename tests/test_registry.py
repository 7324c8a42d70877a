"""The kind registry: typed decorator options, dispatch by kind, and kinds added without touching grading."""

from __future__ import annotations

import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest

from grader.catalogue import exercise_for_file, load_catalogue
from grader.checks import kind_of, registered
from grader.errors import CatalogueError
from grader.grading import grade_file
from grader.spec import ItemSpec, NumericItem, SymbolicItem, numeric, symbolic


def _catalogue(root: Path, name: str, template: str, solution: str, suffix: str = ".py") -> Path:
    (root / "exercises").mkdir(parents=True, exist_ok=True)
    (root / "solutions").mkdir(parents=True, exist_ok=True)
    (root / "exercises" / f"{name}{suffix}").write_text(template)
    (root / "solutions" / f"{name}.py").write_text(textwrap.dedent(solution))
    return root


def test_a_misspelt_option_fails_the_catalogue_naming_decorator_option_and_file(tmp_path):
    root = _catalogue(tmp_path, "descent", "def descend(theta0):\n    raise NotImplementedError\n", """
        from grader.spec import numeric

        @numeric(points=1, cases=lambda rng: [(1.0,)], converge_to=3.0)
        def descend(theta0):
            return [theta0, 3.0]
        """)
    with pytest.raises(CatalogueError) as info:
        load_catalogue(root)
    message = str(info.value)
    assert "@numeric on descend" in message
    assert "unknown option 'converge_to' (did you mean 'converges_to'?)" in message
    assert str(root / "solutions" / "descent.py") in message and "line 4" in message


@pytest.mark.parametrize("decorator,options,fragment", [
    (symbolic, {"points": 1, "ponts": 2}, "@symbolic on f ("),
    (symbolic, {"points": 1, "cases": None}, "unknown option 'cases'"),  # a numeric option on a symbolic item
    (numeric, {"points": 1}, "the option 'cases' is required"),
], ids=["typo", "other-kinds-option", "missing"])
def test_decorators_accept_exactly_their_kinds_fields(decorator, options, fragment):
    def f(x):
        return x

    with pytest.raises(TypeError, match=fragment.replace("(", r"\(")):
        decorator(**options)(f)


def test_shared_options_are_declared_once_and_typed_options_reach_the_item():
    def traj(theta0):
        return [theta0]

    item = numeric(points=2, cases=lambda rng: [(0.0,)], converges_to=3.0, no_warnings="use np.tanh",
                   hidden=True, timeout=2)(traj).__grader_item__
    assert isinstance(item, NumericItem) and (item.converges_to, item.no_warnings) == (3.0, "use np.tanh")
    assert (item.hidden, item.timeout, item.points, item.kind) == (True, 2, 2.0, "numeric")
    shared = {"points", "title", "hidden", "mistakes", "forbid", "timeout"}
    assert shared <= set(SymbolicItem.options()) and shared <= set(NumericItem.options())
    assert kind_of(item).spec is NumericItem


# -- a kind added by a test: its own spec class, input format and checker; grading.py untouched ----------

TINY_KIND = '''
from dataclasses import dataclass
from pathlib import Path

from grader.checks import Handed, Kind
from grader.checks.common import result
from grader.spec import ItemSpec, declare


@dataclass(frozen=True)
class WordItem(ItemSpec):
    """The learner writes one word per item, ``name: word``, in a plain text file."""

    ignore_case: bool = False
    KIND = "word"
    DECORATOR = "word"


def word(**options):
    return declare(WordItem, options)


class WordSheet:
    name = "a text file"
    suffixes = (".txt",)

    def read(self, path, source, items, limits, runner):
        pairs = (line.split(":", 1) for line in source.splitlines() if ":" in line)
        return Handed({k.strip(): v.strip() for k, v in pairs}, notes=("read as words",))

    def review(self, items, results, source):
        return results, ()


class WordChecker:
    @staticmethod
    def calls(item):
        return []

    @staticmethod
    def check(item, answers, exercise):
        got, want = answers.get(item.name, ""), item.reference()
        same = got.lower() == want.lower() if item.ignore_case else got == want
        return result(item, exercise, passed=same, feedback="correct" if same else f"{got!r} is not the word")


KIND = Kind(WordItem, WordSheet(), WordChecker())
'''


@pytest.fixture
def tiny_kind(tmp_path, monkeypatch):
    (tmp_path / "tiny_kind.py").write_text(TINY_KIND)
    monkeypatch.syspath_prepend(str(tmp_path))
    import tiny_kind

    with registered(tiny_kind.KIND):
        yield tiny_kind
    sys.modules.pop("tiny_kind", None)


def test_a_kind_registered_in_a_test_is_graded_without_touching_grading(tmp_path, tiny_kind):
    root = _catalogue(tmp_path / "cat", "words", "first:\nsecond:\n", """
        from tiny_kind import word

        @word(points=1)
        def first():
            return "gradient"

        @word(points=2, ignore_case=True)
        def second():
            return "Jacobian"
        """, suffix=".txt")
    sub = tmp_path / "alice_words.txt"
    sub.write_text("first: gradient\nsecond: jacobian\n")
    exercise = exercise_for_file(sub, root)
    assert exercise.name == "words" and exercise.submission_suffix == ".txt"
    result = grade_file(sub, exercise)
    assert [(i.item, i.kind, i.points) for i in result.items] == [("first", "word", 1.0), ("second", "word", 2.0)]
    assert result.notes == ("read as words",) and result.sandbox_mode == "none"
    sub.write_text("first: Gradient\n")
    assert [i.points for i in grade_file(sub, exercise).items] == [0.0, 0.0]


def test_a_kind_that_runs_learner_functions_goes_through_the_sandbox(tmp_path, fast_limits):
    from grader.catalogue import Exercise
    from grader.checks import Kind
    from grader.checks import symbolic as symbolic_checker
    from grader.checks.inputs import MODULE_FUNCTIONS
    from grader.spec import declare

    @dataclass(frozen=True)
    class LoudSymbolic(SymbolicItem):
        KIND = "loud_symbolic"
        DECORATOR = "loud_symbolic"

    def d_cube(x):
        return 3 * x**2

    declare(LoudSymbolic, {"points": 2})(d_cube)
    sub = tmp_path / "cube.py"
    sub.write_text("def d_cube(x):\n    return 3*x*x\n")
    ex = Exercise("cube", "Cube", 1, sub, sub, (d_cube.__grader_item__,))
    with registered(Kind(LoudSymbolic, MODULE_FUNCTIONS, symbolic_checker)):
        result = grade_file(sub, ex, fast_limits)
    assert result.score == 2 and result.items[0].kind == "loud_symbolic" and result.sandbox_mode != "none"


def test_catalogue_rejects_an_unregistered_kind_and_a_template_of_the_wrong_format(tmp_path):
    @dataclass(frozen=True)
    class Stray(ItemSpec):
        KIND = "stray"

    with pytest.raises(CatalogueError, match="no checker for item kind 'stray'"):
        kind_of(Stray("f", 1.0, reference=lambda: 0))
    root = _catalogue(tmp_path, "mixed", "[d]\nanswer = ''\n", """
        from grader.spec import symbolic

        @symbolic(points=1)
        def d(x):
            return x
        """, suffix=".toml")
    with pytest.raises(CatalogueError, match=r"answered in a Python file \(\.py\), but the template is mixed\.toml"):
        load_catalogue(root)



def test_registering_a_kind_again_for_a_while_leaves_it_registered_afterwards():
    builtin = kind_of("symbolic")
    with registered(builtin):
        assert kind_of("symbolic") is builtin
    assert kind_of("symbolic") is builtin
