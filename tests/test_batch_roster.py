"""``grader batch --roster``: variant files graded on the numbers of the roster person each learner folder matches.

Everything runs the ``grader`` command on real files built in tmp_path: a roster, a key, the kits
``grader release --roster`` writes, and a class whose folders are named by logins, aliases and names
rather than by roster ids.
"""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import pytest

from grader.gradebook import Gradebook

ROOT = Path(__file__).resolve().parent.parent
VARIANTS = ROOT / "examples" / "variants"
KEY = b"roster-batch-variant-key-0123456789abcdef"
#: id, name, email, aliases: alice is matched by her email login, bob by his alias, the two Ann Lees by nobody
PEOPLE = [("s001", "Alice Archer", "alice@uni.org", ""), ("s002", "Bob Baker", "bob@uni.org", "bobgh"),
          ("s003", "Carol Cole", "carol@uni.org", ""), ("s004", "Ann Lee", "ann.lee@uni.org", ""),
          ("s005", "Ann Lee", "alee@uni.org", ""), ("s009", "Zed Zane", "zed@uni.org", "")]


def grader(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "grader.cli", *args], check=False, capture_output=True, text=True,
                          cwd=cwd, timeout=300)


def write_roster(path: Path, people: list[tuple[str, str, str, str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh)
        out.writerow(["id", "name", "email", "aliases"])
        out.writerows(people)
    return path


def answer(template: str) -> str:
    """A correct answer to the variants example: the kit's template with both functions written."""
    first, second, rest = template.split("raise NotImplementedError", 2)
    return first + "return 2 * A * x + B * y" + second + "return B * x + 2 * C * y" + rest


def scores(out: Path) -> dict[str, float]:
    with (out / "grades.csv").open(encoding="utf-8") as fh:
        return {row["learner"]: float(row["total"]) for row in csv.DictReader(fh)}


def diagnoses(out: Path) -> dict[str, set[str]]:
    with Gradebook(out / "gradebook.sqlite") as book:
        return {s.learner: {i.diagnosis or "" for i in s.result.items} for s in book.submissions()}


@pytest.fixture(scope="module")
def course(tmp_path_factory) -> Path:
    """Kits released for the whole roster; a class folder per learner, named as the learners named them."""
    base = tmp_path_factory.mktemp("roster")
    write_roster(base / "roster.csv", PEOPLE)
    (base / "KEY").write_bytes(KEY + b"\n")
    done = grader("release", "--catalog", str(VARIANTS), "--out", "kit", "--roster", "roster.csv", "--secret-file",
                  "KEY", cwd=base)
    assert done.returncode == 0, done.stderr
    kit = {pid: (base / "kit" / pid / "quadratic.py").read_text(encoding="utf-8") for pid, *_ in PEOPLE}
    files = {"alice": answer(kit["s001"]),            # her own kit, under her email login
             "bobgh": answer(kit["s002"]),            # his own kit, under his alias
             "carol": answer(kit["s001"]),            # alice's file: another learner's variant
             "ann_lee": answer(kit["s004"]),          # fits two roster people
             "zed": answer(kit["s009"]).split("\n", 1)[1]}  # his numbers, no id line; not on the first roster
    for folder, text in files.items():
        (base / "class" / folder).mkdir(parents=True)
        (base / "class" / folder / "quadratic.py").write_text(text, encoding="utf-8")
    write_roster(base / "first.csv", [p for p in PEOPLE if p[0] != "s009"])
    return base


def test_each_learner_is_graded_as_the_roster_person_they_match_and_the_unmatched_score_zero(course, tmp_path):
    done = grader("batch", "class", "--catalog", str(VARIANTS), "--out", str(tmp_path / "out"), "-j", "2",
                  "--secret-file", "KEY", "--roster", "first.csv", cwd=course)
    assert done.returncode == 0, done.stderr
    assert scores(tmp_path / "out") == {"alice": 2, "bobgh": 2, "carol": 0, "ann_lee": 0, "zed": 0}
    got = diagnoses(tmp_path / "out")
    assert got["carol"] == {"variant_other_learner"}
    assert got["zed"] == got["ann_lee"] == {"variant_unmatched"}
    assert "" in got["alice"] and "" in got["bobgh"]
    assert "zed matches no single person of first.csv (no roster entry)" in done.stderr
    assert "ann_lee matches no single person of first.csv (fits several roster entries: s004, s005)" in done.stderr
    assert "variants: 3 of 5 learners matched to first.csv" in done.stderr
    problems = sorted(line for line in done.stdout.splitlines() if line.startswith("problem:"))
    assert problems == [
        "problem: ann_lee/quadratic.py: scored zero, no variant: the learner matches no single roster person "
        "(fits several roster entries: s004, s005)",
        "problem: zed/quadratic.py: scored zero, no variant: the learner matches no single roster person "
        "(no roster entry)"]
    report = (tmp_path / "out" / "reports" / "zed" / "quadratic.html").read_text(encoding="utf-8")
    assert "matches no single person of the roster" in report
    alice = (tmp_path / "out" / "reports" / "alice" / "quadratic.html").read_text(encoding="utf-8")
    assert "graded on the variant of learner s001" in alice


def test_without_the_roster_the_folder_names_are_the_ids_and_nobody_matches_their_kit(course, tmp_path):
    done = grader("batch", "class", "--catalog", str(VARIANTS), "--out", str(tmp_path / "out"), "-j", "2",
                  "--secret-file", "KEY", cwd=course)
    assert done.returncode == 0, done.stderr
    got = scores(tmp_path / "out")
    assert got["alice"] == got["bobgh"] == got["carol"] == 0  # their files were written for s001's, s002's numbers
    assert diagnoses(tmp_path / "out")["alice"] == {"variant_other_learner"}


def test_a_rerun_with_a_changed_roster_regrades_only_the_learners_whose_mapping_changed(course, tmp_path):
    out = str(tmp_path / "out")
    first = grader("batch", "class", "--catalog", str(VARIANTS), "--out", out, "-j", "2", "--secret-file", "KEY",
                   "--roster", "first.csv", cwd=course)
    assert first.returncode == 0, first.stderr
    again = grader("batch", "class", "--catalog", str(VARIANTS), "--out", out, "-j", "2", "--secret-file", "KEY",
                   "--roster", "first.csv", cwd=course)
    assert "graded 0, already graded 5 (skipped)" in again.stdout, again.stdout
    changed = grader("batch", "class", "--catalog", str(VARIANTS), "--out", out, "-j", "2", "--secret-file", "KEY",
                     "--roster", "roster.csv", cwd=course)  # zed is on it now
    assert changed.returncode == 0, changed.stderr
    assert "graded 1, already graded 4 (skipped)" in changed.stdout, changed.stdout
    assert scores(tmp_path / "out") == {"alice": 2, "bobgh": 2, "carol": 0, "ann_lee": 0, "zed": 2}
    assert not any("zed" in line for line in changed.stdout.splitlines() if line.startswith("problem:"))


def test_a_roster_with_an_id_unfit_for_a_variant_is_refused_before_grading(course, tmp_path):
    write_roster(tmp_path / "bad.csv", [*PEOPLE[:3], ("s 010", "Dan Doe", "dan@uni.org", "")])
    done = grader("batch", "class", "--catalog", str(VARIANTS), "--out", str(tmp_path / "out"), "--secret-file",
                  "KEY", "--roster", str(tmp_path / "bad.csv"), cwd=course)
    assert done.returncode == 2 and "cannot name a variant" in done.stderr, done.stderr
    assert not (tmp_path / "out" / "gradebook.sqlite").exists()


@pytest.mark.slow
def test_the_roster_maps_learners_alike_on_a_cluster(course, tmp_path):
    pytest.importorskip("distributed")
    from tests.test_cluster import LocalCluster, grades

    local = grader("batch", "class", "--catalog", str(VARIANTS), "--out", str(tmp_path / "local"), "-j", "2",
                   "--secret-file", "KEY", "--roster", "first.csv", cwd=course)
    assert local.returncode == 0, local.stderr
    dask = LocalCluster(tmp_path)
    try:
        address = dask.start_scheduler()
        dask.start_worker("a", nanny=False)
        dask.start_worker("b", nanny=False)
        dask.wait_for_workers(2)
        remote = grader("batch", "class", "--catalog", str(VARIANTS), "--out", str(tmp_path / "cluster"),
                        "--scheduler", address, "--secret-file", "KEY", "--roster", "first.csv", cwd=course)
    finally:
        dask.stop()
    assert remote.returncode == 0, remote.stderr
    assert grades(tmp_path / "cluster") == grades(tmp_path / "local")
    assert sorted(line for line in remote.stdout.splitlines() if line.startswith("problem:")) == \
        sorted(line for line in local.stdout.splitlines() if line.startswith("problem:"))
