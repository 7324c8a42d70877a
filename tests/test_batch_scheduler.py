"""The batch scheduler in-process, with a fake grading function: dead workers, identical files, resuming."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

import pytest

from grader import batch
from grader.batch_worker import unreadable_result
from grader.catalogue import Exercise
from grader.errors import UsageError
from grader.gradebook import Gradebook, now, result_to_json
from grader.layouts import Discovery, Submission
from grader.results import ExerciseResult, ItemResult
from grader.spec import SymbolicItem

EX = Exercise("tiny", "Tiny", 1, Path(__file__), Path(__file__),
              (SymbolicItem("d_exp", 1.0, reference=lambda x: x),))
CALLS: Path | None = None  # set per test; forked workers inherit it


def fake_grade(learner: str, exercise: str, path: str, relpath: str, decision: object = None) -> tuple[str, str, str]:
    """Stands in for grade_one: 'mallory' kills her worker; everyone else scores len(learner) % 2."""
    assert CALLS is not None
    (CALLS / f"{learner}.{os.getpid()}").touch()
    if learner.startswith("mallory"):
        os._exit(9)
    if learner.startswith("oscar"):
        raise RuntimeError("a grader bug on this one file")
    item = ItemResult(exercise, "d_exp", "symbolic", 1.0, float(len(learner) % 2), "passed", "fine")
    return result_to_json(ExerciseResult(exercise, "Tiny", relpath, (item,))), now(), ""


def quiet_init(*args: object) -> None:
    """No sandbox pool: the fake grader runs no learner code."""


@pytest.fixture
def fake(monkeypatch, tmp_path):
    global CALLS
    CALLS = tmp_path / "calls"
    CALLS.mkdir()
    monkeypatch.setattr(batch, "grade_one", fake_grade)
    monkeypatch.setattr(batch, "init_worker", quiet_init)
    yield CALLS
    CALLS = None


def discovery(tmp_path: Path, learners: dict[str, str]) -> Discovery:
    subs = []
    for name, content_hash in learners.items():
        path = tmp_path / "class" / name / "tiny.py"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content_hash)
        subs.append(Submission(name, "tiny", path, f"{name}/tiny.py", content_hash, 1))
    return Discovery(tmp_path / "class", "folder per learner", tuple(subs), ())


def stored(out: Path) -> dict[str, tuple[float, str]]:
    with Gradebook(out / "gradebook.sqlite") as book:
        return {s.learner: (s.result.score, s.result.items[0].diagnosis or "") for s in book.submissions()}


def test_a_worker_killed_by_one_submission_costs_only_that_submission(fake, tmp_path):
    learners = {f"learner{i}": f"h{i}" for i in range(8)} | {"mallory": "hm"}
    out = tmp_path / "out"
    run = batch.grade_batch(discovery(tmp_path, learners), {"tiny": EX}, batch.BatchOptions(out, jobs=2))
    got = stored(out)
    assert set(got) == set(learners) and run.graded == 9
    assert got["mallory"] == (0.0, "crashed")
    assert all(got[f"learner{i}"] == (float(len(f"learner{i}") % 2), "") for i in range(8))
    assert any("mallory/tiny.py: stopped or broke the grader's worker process" in p for p in run.problems)
    assert (out / "reports" / "mallory" / "tiny.html").exists()


def test_two_dead_workers_and_a_failing_file_cost_only_their_own_submissions(fake, tmp_path):
    learners = {f"learner{i}": f"h{i}" for i in range(6)} | {"mallory": "m1", "mallory2": "m2", "oscar": "o1"}
    out = tmp_path / "out"
    run = batch.grade_batch(discovery(tmp_path, learners), {"tiny": EX}, batch.BatchOptions(out, jobs=2))
    got = stored(out)
    assert set(got) == set(learners) and run.graded == len(learners)
    assert {n for n, (_, diag) in got.items() if diag == "crashed"} == {"mallory", "mallory2", "oscar"}


def test_a_pool_found_broken_when_submitting_is_replaced_and_nobody_is_charged(fake, tmp_path, monkeypatch):
    from concurrent.futures.process import BrokenProcessPool

    real_pool = batch.LocalPool._pool
    broke = []

    class BreaksOnce:
        """A worker died between two results: the next submit finds the pool broken."""

        def __init__(self, inner):
            self.inner = inner

        def submit(self, *args):
            if not broke and args[1:3] == ("learner3", "tiny"):
                broke.append(args[1])
                raise BrokenProcessPool("a child process terminated abruptly")
            return self.inner.submit(*args)

        def shutdown(self, *args, **kwargs):
            return self.inner.shutdown(*args, **kwargs)

    monkeypatch.setattr(batch.LocalPool, "_pool", lambda self, jobs: BreaksOnce(real_pool(self, jobs)))
    learners = {f"learner{i}": f"h{i}" for i in range(6)}
    out = tmp_path / "out"
    run = batch.grade_batch(discovery(tmp_path, learners), {"tiny": EX}, batch.BatchOptions(out, jobs=2))
    got = stored(out)
    assert broke == ["learner3"]
    assert set(got) == set(learners) and run.graded == len(learners)
    assert not any(diag == "crashed" for _, diag in got.values())


def test_identical_files_are_graded_once_and_each_learner_gets_the_grade(fake, tmp_path):
    learners = {"ann": "same", "bea": "same", "cy": "same", "dee": "other"}
    out = tmp_path / "out"
    run = batch.grade_batch(discovery(tmp_path, learners), {"tiny": EX}, batch.BatchOptions(out, jobs=2))
    assert run.graded == 4
    graded = {p.name.split(".")[0] for p in fake.iterdir()}
    assert graded == {"ann", "dee"}  # bea and cy share ann's file
    got = stored(out)
    assert got["bea"] == got["cy"] == (float(len("ann") % 2), "")
    with Gradebook(out / "gradebook.sqlite") as book:
        paths = {s.learner: s.result.submission for s in book.submissions()}
    assert paths["cy"] == "cy/tiny.py"
    assert all((out / "reports" / n / "tiny.html").exists() for n in ("bea", "cy"))  # leaders: by the worker


def test_a_rerun_grades_only_new_or_changed_files(fake, tmp_path):
    out = tmp_path / "out"
    first = discovery(tmp_path, {"ann": "a1", "bob": "b1"})
    batch.grade_batch(first, {"tiny": EX}, batch.BatchOptions(out, jobs=1))
    second = discovery(tmp_path, {"ann": "a1", "bob": "b2", "cy": "c1"})
    for p in fake.iterdir():
        p.unlink()
    run = batch.grade_batch(second, {"tiny": EX}, batch.BatchOptions(out, jobs=1))
    assert (run.graded, run.skipped) == (2, 1)
    assert {p.name.split(".")[0] for p in fake.iterdir()} == {"bob", "cy"}
    with Gradebook(out / "gradebook.sqlite") as book:
        assert book.graded_versions()[("bob", "tiny")][0] == "b2"


def test_unreadable_result_zeroes_every_item():
    res = unreadable_result(EX, "a/tiny.py", "a/tiny.py is not UTF-8 text")
    assert res.score == 0 and res.import_error is not None
    assert [(i.status, i.diagnosis) for i in res.items] == [("error", "unreadable")]


def test_regrade_grades_everything_again(fake, tmp_path):
    out = tmp_path / "out"
    found = discovery(tmp_path, {"ann": "a1", "bob": "b1"})
    batch.grade_batch(found, {"tiny": EX}, batch.BatchOptions(out, jobs=1))
    run = batch.grade_batch(found, {"tiny": EX}, batch.BatchOptions(out, jobs=1, regrade=True))
    assert (run.graded, run.skipped) == (2, 0)
    assert len(stored(out)) == 2


def test_a_second_batch_on_the_same_output_folder_is_refused(fake, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    with open(out / ".batch.lock", "a") as held:
        fcntl.flock(held, fcntl.LOCK_EX)  # as a running batch would
        with pytest.raises(UsageError, match="another grader batch"):
            batch.grade_batch(discovery(tmp_path, {"ann": "a1"}), {"tiny": EX}, batch.BatchOptions(out, jobs=1))
    run = batch.grade_batch(discovery(tmp_path, {"ann": "a1"}), {"tiny": EX}, batch.BatchOptions(out, jobs=1))
    assert run.graded == 1


def test_editing_an_exercise_reference_regrades_its_submissions(fake, tmp_path):
    solution, template = tmp_path / "tiny_solution.py", tmp_path / "tiny_template.py"
    solution.write_text("# v1\n")
    template.write_text("# template\n")
    ex = Exercise("tiny", "Tiny", 1, template, solution, EX.items)
    out = tmp_path / "out"
    found = discovery(tmp_path, {"ann": "a1"})
    batch.grade_batch(found, {"tiny": ex}, batch.BatchOptions(out, jobs=1))
    assert batch.grade_batch(found, {"tiny": ex}, batch.BatchOptions(out, jobs=1)).graded == 0
    solution.write_text("# v2: a fixed reference\n")
    run = batch.grade_batch(found, {"tiny": ex}, batch.BatchOptions(out, jobs=1))
    assert (run.graded, run.skipped) == (1, 0)


def test_outputs_cover_the_learners_found_this_time_and_fill_in_missing_reports(fake, tmp_path):
    out = tmp_path / "out"
    batch.grade_batch(discovery(tmp_path, {"ann": "a1", "bob": "b1"}), {"tiny": EX}, batch.BatchOptions(out, jobs=1))
    assert not (out / "reports").exists()  # the fake grader writes none
    written = batch.write_outputs(discovery(tmp_path, {"ann": "a1"}), (EX,), out)  # bob's folder was removed
    assert {p.name for p in written} == {"grades.csv", "grades.json", "summary.html"}
    rows = (out / "grades.csv").read_text().splitlines()
    assert len(rows) == 2 and rows[1].startswith("ann,")
    assert "bob" not in (out / "summary.html").read_text()
    assert (out / "reports" / "ann" / "tiny.html").exists() and not (out / "reports" / "bob").exists()
