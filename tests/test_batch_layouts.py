"""Layout discovery: whose file is which, what is listed as unmatched, and hostile names and links."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from grader.catalogue import Exercise
from grader.layouts import discover, display_name, safe_component

EXERCISES = (
    Exercise("derivatives", "D", 1, Path("derivatives.py"), Path("s.py"), ()),
    Exercise("gradients", "G", 2, Path("gradients.py"), Path("s.py"), ()),
    Exercise("descent_gradients", "DG", 3, Path("descent_gradients.py"), Path("s.py"), ()),
    Exercise("quiz", "Q", 4, Path("quiz.toml"), Path("s.py"), ()),
)


def make(root: Path, *files: str) -> Path:
    for rel in files:
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(f"# {rel}\n")
    return root


def found(root: Path) -> set[tuple[str, str]]:
    return {(s.learner, s.exercise) for s in discover(root, EXERCISES).submissions}


@pytest.mark.parametrize("files, expected", [
    (["alice/derivatives.py", "bob/derivatives.py", "bob/gradients.py"],
     {("alice", "derivatives"), ("bob", "derivatives"), ("bob", "gradients")}),
    (["submitted/alice/derivatives.py", "submitted/bob/derivatives.py"],
     {("alice", "derivatives"), ("bob", "derivatives")}),
    (["submitted/alice/ps1/derivatives.py", "submitted/bob/ps1/derivatives.py"],
     {("alice", "derivatives"), ("bob", "derivatives")}),
    (["submitted/alice/derivatives.py"], {("alice", "derivatives")}),
    (["submitted/alice/ps1/derivatives.py", "submitted/alice/ps1/gradients.py"],
     {("alice", "derivatives"), ("alice", "gradients")}),
    (["alice/ps1/derivatives.py"], {("alice", "derivatives")}),
    (["alice/quiz.toml"], {("alice", "quiz")}),
    (["hw1-alice/derivatives.py", "hw1-bob/derivatives.py"], {("alice", "derivatives"), ("bob", "derivatives")}),
    (["hw1-alice/derivatives.py", "bob/derivatives.py"], {("hw1-alice", "derivatives"), ("bob", "derivatives")}),
    (["hw1-alice/derivatives.py"], {("hw1-alice", "derivatives")}),
], ids=["folders", "nested", "nbgrader", "one-learner-nested", "one-learner-nbgrader", "one-learner-deep",
        "quiz-toml", "classroom", "no-shared-prefix",
        "one-classroom-repo"])
def test_folder_per_learner(tmp_path, files, expected):
    make(tmp_path, *files)
    d = discover(tmp_path, EXERCISES)
    assert found(tmp_path) == expected
    assert d.layout == "folder per learner"
    assert d.unmatched == ()


def test_flat_files_and_longest_exercise_name_wins(tmp_path):
    make(tmp_path, "alice_derivatives.py", "bob-gradients.py", "carol_descent_gradients.py", "dan_quiz.toml")
    d = discover(tmp_path, EXERCISES)
    assert d.layout == "flat"
    assert found(tmp_path) == {("alice", "derivatives"), ("bob", "gradients"),
                               ("carol", "descent_gradients"), ("dan", "quiz")}


def test_files_matching_nothing_are_listed_with_a_reason(tmp_path):
    make(tmp_path, "alice/derivatives.py", "alice/notes.txt", "derivatives.py", "bob/quiz.py", "README.md")
    d = discover(tmp_path, EXERCISES)
    reasons = {u.relpath: u.reason for u in d.unmatched}
    assert set(reasons) == {"alice/notes.txt", "derivatives.py", "bob/quiz.py", "README.md"}
    assert "learner's folder" in reasons["derivatives.py"]
    assert "matches no exercise" in reasons["bob/quiz.py"]  # a quiz is handed in as .toml


def test_hidden_entries_and_caches_are_skipped(tmp_path):
    make(tmp_path, "alice/derivatives.py", ".git/config", "alice/.derivatives.py.swp",
         "alice/__pycache__/derivatives.cpython-311.pyc")
    d = discover(tmp_path, EXERCISES)
    assert found(tmp_path) == {("alice", "derivatives")} and d.unmatched == ()


def test_second_file_for_the_same_learner_and_exercise_is_listed_not_graded(tmp_path):
    make(tmp_path, "alice/derivatives.py", "alice_derivatives.py")
    d = discover(tmp_path, EXERCISES)
    assert len(d.submissions) == 1 and d.layout == "mixed"
    assert len(d.unmatched) == 1 and "second file" in d.unmatched[0].reason


def test_links_out_of_the_folder_are_not_followed(tmp_path):
    secret = tmp_path / "secret.py"
    secret.write_text("TOKEN = 1\n")
    root = make(tmp_path / "class", "alice/derivatives.py")
    (root / "mallory").mkdir()
    (root / "mallory" / "derivatives.py").symlink_to(secret)
    (tmp_path / "elsewhere" / "eve").mkdir(parents=True)
    (tmp_path / "elsewhere" / "eve" / "derivatives.py").write_text("x = 1\n")
    (root / "linked").symlink_to(tmp_path / "elsewhere", target_is_directory=True)
    d = discover(root, EXERCISES)
    assert found(root) == {("alice", "derivatives")}
    reasons = {u.relpath: u.reason for u in d.unmatched}
    assert "outside" in reasons["mallory/derivatives.py"]
    assert "not followed" in reasons["linked"]


def test_a_link_inside_the_folder_is_allowed(tmp_path):
    root = make(tmp_path, "alice/derivatives.py")
    (root / "bob").mkdir()
    (root / "bob" / "derivatives.py").symlink_to(root / "alice" / "derivatives.py")
    assert found(root) == {("alice", "derivatives"), ("bob", "derivatives")}


def test_a_fifo_is_listed_not_read(tmp_path):
    make(tmp_path, "alice/derivatives.py")
    (tmp_path / "bob").mkdir()
    os.mkfifo(tmp_path / "bob" / "derivatives.py")
    d = discover(tmp_path, EXERCISES)  # would block forever if the FIFO were opened
    assert found(tmp_path) == {("alice", "derivatives")}
    assert d.unmatched[0].reason == "not a regular file"


def test_content_hash_and_size(tmp_path):
    make(tmp_path, "alice/derivatives.py")
    (sub,) = discover(tmp_path, EXERCISES).submissions
    data = (tmp_path / "alice" / "derivatives.py").read_bytes()
    assert sub.sha256 == hashlib.sha256(data).hexdigest() and sub.size == len(data)
    assert sub.relpath == "alice/derivatives.py"


def test_huge_file_is_not_read_to_hash(tmp_path):
    (tmp_path / "alice").mkdir()
    with open(tmp_path / "alice" / "derivatives.py", "wb") as fh:
        fh.truncate(5 << 20)
    (sub,) = discover(tmp_path, EXERCISES).submissions
    assert sub.sha256 == f"too-large:{5 << 20}"


def test_undecodable_file_names_become_text(tmp_path):
    raw = os.fsencode(str(tmp_path)) + b"/al\xffice"
    os.mkdir(raw)
    with open(raw + b"/derivatives.py", "w") as fh:
        fh.write("x = 1\n")
    (sub,) = discover(tmp_path, EXERCISES).submissions
    assert sub.learner == "al\ufffdice"
    sub.learner.encode("utf-8")  # storable in SQLite, CSV and HTML


@pytest.mark.parametrize("name", ["..", ".hidden", "a/b", "=cmd|' /C calc'!A0", "<script>x</script>",
                                  "x" * 300, "CON", "new\nline", ""],
                         ids=["dotdot", "dot", "slash", "formula", "script", "long", "reserved", "newline", "empty"])
def test_safe_component_is_one_harmless_path_part(name):
    slug = safe_component(name)
    assert slug and "/" not in slug and "\\" not in slug and not slug.startswith(".")
    assert len(slug) <= 70 and slug.isprintable()
    assert Path(slug).name == slug


def test_safe_component_keeps_plain_names_and_separates_altered_ones():
    assert safe_component("alice") == "alice" and safe_component("zoë.m-2") == "zoë.m-2"
    assert safe_component("a/b") != safe_component("a?b")


def test_display_name_normalises_unicode():
    assert display_name("Zoe\u0308") == "Zoë"


@pytest.mark.parametrize("files, expected", [
    (["alice/derivatives.ipynb", "bob/derivatives.ipynb"], {("alice", "derivatives"), ("bob", "derivatives")}),
    (["submitted/alice/ps1/derivatives.ipynb", "submitted/bob/ps1/derivatives.ipynb"],
     {("alice", "derivatives"), ("bob", "derivatives")}),
    (["assignment-alice/derivatives.ipynb", "assignment-bob/derivatives.py"],
     {("alice", "derivatives"), ("bob", "derivatives")}),
    (["alice_derivatives.ipynb", "bob-derivatives.ipynb"], {("alice", "derivatives"), ("bob", "derivatives")}),
])
def test_notebooks_are_found_in_every_layout(tmp_path, files, expected):
    assert found(make(tmp_path, *files)) == expected


def test_a_quiz_is_never_a_notebook(tmp_path):
    d = discover(make(tmp_path, "alice/quiz.ipynb"), EXERCISES)
    assert not d.submissions and d.unmatched[0].reason == "the name matches no exercise"


def test_a_learner_with_both_py_and_ipynb_gets_one_grade_of_the_py_file(tmp_path):
    d = discover(make(tmp_path, "alice/derivatives.ipynb", "alice/derivatives.py", "bob/derivatives.ipynb"),
                 EXERCISES)
    by = {s.learner: s.relpath for s in d.submissions}
    assert by == {"alice": "alice/derivatives.py", "bob": "bob/derivatives.ipynb"}
    (skipped,) = d.unmatched
    assert skipped.relpath == "alice/derivatives.ipynb"
    assert skipped.reason == ("'alice' handed in 'derivatives' as derivatives.py and as derivatives.ipynb; "
                              "graded: alice/derivatives.py")


def test_a_notebook_with_large_outputs_is_still_hashed(tmp_path):
    (tmp_path / "alice").mkdir()
    (tmp_path / "alice" / "derivatives.ipynb").write_bytes(b" " * (3 << 20))
    (sub,) = discover(tmp_path, EXERCISES).submissions
    assert not sub.sha256.startswith("too-large")
