"""Per-learner variants (issue 12, point 6): each learner's numbers from a keyed hash, one kit per learner,
grading on the learner's own instance, another learner's file and a forged id line caught, bad input refused."""

from __future__ import annotations

import dataclasses
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from grader.batch import BatchOptions, run_batch
from grader.bundle import autograde
from grader.catalogue import load_catalogue
from grader.commands import ReleaseCommand, release_kit
from grader.errors import UsageError
from grader.grading import grade_on_variant, grade_variant_file, variant_decision
from grader.kit import load_bundle
from grader.runtypes import Limits
from grader.variants import (
    VariantDecision,
    decide_variant,
    id_line,
    instance,
    read_id_line,
    render_template,
    tag,
    verify,
)

ROOT = Path(__file__).resolve().parent.parent
CATALOG = ROOT / "examples" / "variants"
QUADRATIC = load_catalogue(CATALOG)[0]
SECRET = b"course-2026-secret-key-0123456789"
LIMITS = Limits(wall_seconds=5.0)


def _numbers(learner: str, secret: bytes = SECRET) -> dict:
    return instance(QUADRATIC.parameters, learner, "quadratic", secret).as_dict()


def _answer(template: str) -> str:
    """A learner's correct answer: the kit's template with both functions written from its own A, B, C."""
    first, second, rest = template.split("raise NotImplementedError", 2)
    return first + "return 2 * A * x + B * y" + second + "return B * x + 2 * C * y" + rest


@pytest.fixture(scope="module")
def kits(tmp_path_factory):
    """A per-learner release for alice and bob (and carol, who will hand in alice's file)."""
    base = tmp_path_factory.mktemp("variants")
    (base / "roster.csv").write_text("id,name,email\nalice,Alice A,alice@uni.org\nbob,Bob B,bob@uni.org\n"
                                     "carol,Carol C,carol@uni.org\n", encoding="utf-8")
    (base / "KEY").write_bytes(SECRET + b"\n")
    release_kit(ReleaseCommand(out=base / "kit", catalog=CATALOG, roster=base / "roster.csv",
                               secret_file=base / "KEY", seed=7))
    return base


# -- the numbers: stable, keyed, in range -----------------------------------------------------


def test_same_secret_same_numbers_other_secret_other_numbers():
    assert _numbers("alice") == _numbers("alice") == _numbers("  ALICE ")
    learners = [f"learner{i}" for i in range(20)]
    other = b"another-course-secret-key-9876543210"
    assert [_numbers(x) for x in learners] != [_numbers(x, other) for x in learners]
    assert sum(_numbers(x) != _numbers(x, other) for x in learners) >= 15
    assert len({tuple(_numbers(x).values()) for x in learners}) >= 15  # learners get different numbers
    for x in learners:
        assert all(2 <= v <= 9 for v in _numbers(x).values())


def test_the_id_line_authenticates_only_what_release_wrote():
    line = id_line("alice", "quadratic", SECRET)
    learner, claimed = read_id_line(f"{line}\nA = 3\n")
    assert learner == "alice" and verify("alice", claimed, "quadratic", SECRET)
    assert not verify("bob", claimed, "quadratic", SECRET)  # alice's tag does not name bob
    assert not verify("alice", claimed, "gradients", SECRET)  # nor another exercise
    assert not verify("alice", claimed, "quadratic", b"x" * 32)  # nor under another key
    forged = claimed[:-1] + ("0" if claimed[-1] != "0" else "1")
    assert not verify("alice", forged, "quadratic", SECRET)
    assert read_id_line("A = 3\n") is None
    assert tag("Alice", "quadratic", SECRET) == tag("alice", "quadratic", SECRET) == claimed


def test_render_template_states_the_numbers_and_leaves_other_braces():
    variant = instance(QUADRATIC.parameters, "alice", "quadratic", SECRET)
    text = render_template("A = {{ a }}\nB = {{b}}\nd = {'k': {1}}\nZ = {{ zz }}\n", variant, "# grader-variant: x y")
    values = variant.as_dict()
    assert text.splitlines() == ["# grader-variant: x y", f"A = {values['a']}", f"B = {values['b']}",
                                 "d = {'k': {1}}", "Z = {{ zz }}"]


# -- one kit per learner ----------------------------------------------------------------------


def test_release_writes_one_kit_per_learner_with_its_numbers(kits):
    for who in ("alice", "bob", "carol"):
        template = (kits / "kit" / who / "quadratic.py").read_text(encoding="utf-8")
        assert template.splitlines()[0] == id_line(who, "quadratic", SECRET)
        stated = dict(re.findall(r"^([ABC]) = (\d+)$", template, re.MULTILINE))
        assert {k.lower(): int(v) for k, v in stated.items()} == _numbers(who)
        assert "{{" not in template
        load_bundle(kits / "kit" / who / "quadratic.check.json", "quadratic")
    assert _numbers("alice") != _numbers("bob")
    kit_text = "".join(p.read_text(encoding="utf-8") for p in (kits / "kit").rglob("*") if p.is_file())
    assert "2 * a * x + b * y" not in kit_text and "grader_items" not in kit_text


def test_each_learners_correct_file_passes_their_own_kit_check(kits):
    from grader.kit import check_file

    for who in ("alice", "bob"):
        path = kits / f"{who}_quadratic.py"
        path.write_text(_answer((kits / "kit" / who / "quadratic.py").read_text(encoding="utf-8")), encoding="utf-8")
        done = check_file(path, load_bundle(kits / "kit" / who / "quadratic.check.json"), LIMITS)
        assert (done.right, done.wrong) == (2, 0), done.result.items


# -- grading on the learner's own instance ----------------------------------------------------


@pytest.fixture(scope="module")
def answers(kits):
    out = {}
    for who in ("alice", "bob"):
        path = kits / f"answer_{who}" / "quadratic.py"
        path.parent.mkdir()
        path.write_text(_answer((kits / "kit" / who / "quadratic.py").read_text(encoding="utf-8")), encoding="utf-8")
        out[who] = path
    return out


def test_two_learners_correct_files_get_full_marks_on_their_own_variants(answers):
    for who, path in answers.items():
        by_line = grade_variant_file(path, QUADRATIC, None, SECRET, LIMITS)  # the learner from the id line
        named = grade_variant_file(path, QUADRATIC, who, SECRET, LIMITS)  # --learner / batch layout
        for res in (by_line, named):
            assert res.score == res.max_score == 2, [i.feedback for i in res.items]
            assert f"graded on the variant of learner {who}" in res.notes


def test_bob_handing_in_alices_file_scores_zero_with_the_reason(answers):
    res = grade_variant_file(answers["alice"], QUADRATIC, "bob", SECRET, LIMITS)
    assert res.score == 0 and res.max_score == 2
    for item in res.items:
        assert item.points == 0 and item.diagnosis == "variant_other_learner"
        assert "written for alice's numbers, not bob's" in item.feedback


def test_alices_numbers_without_the_id_line_fail_on_bobs_variant(answers, tmp_path):
    body = answers["alice"].read_text(encoding="utf-8").split("\n", 1)[1]  # the id line removed
    path = tmp_path / "quadratic.py"
    path.write_text(body, encoding="utf-8")
    assert grade_variant_file(path, QUADRATIC, "alice", SECRET, LIMITS).score == 2
    assert grade_variant_file(path, QUADRATIC, "bob", SECRET, LIMITS).score == 0  # bob's numbers differ


def test_a_forged_id_line_is_refused(answers, tmp_path):
    # bob writes his own file but claims alice's id line with a made-up tag: it does not authenticate
    text = answers["bob"].read_text(encoding="utf-8").split("\n", 1)[1]
    path = tmp_path / "quadratic.py"
    path.write_text(f"# grader-variant: alice {'0' * 20}\n{text}", encoding="utf-8")
    for learner in (None, "alice"):
        res = grade_variant_file(path, QUADRATIC, learner, SECRET, LIMITS)
        assert res.score == 0
        assert all(i.diagnosis == "variant_forged" and "does not authenticate" in i.feedback for i in res.items)


def test_batch_grades_each_folder_on_its_learners_variant(answers, kits, tmp_path):
    subs = tmp_path / "subs"
    for who, src in (("alice", "alice"), ("bob", "bob"), ("carol", "alice")):  # carol hands in alice's file
        (subs / who).mkdir(parents=True)
        (subs / who / "quadratic.py").write_bytes(answers[src].read_bytes())
    out = tmp_path / "out"
    run_batch(subs, CATALOG, BatchOptions(out, 1, limits=LIMITS, variant_secret=SECRET))
    csv_rows = dict(line.split(",", 1) for line in (out / "grades.csv").read_text().splitlines()[1:])
    assert csv_rows["alice"].endswith(",2,2,2") and csv_rows["bob"].endswith(",2,2,2"), csv_rows
    assert csv_rows["carol"] == "0,0,0,0,2", csv_rows
    report = (out / "reports" / "carol" / "quadratic.html").read_text(encoding="utf-8")
    assert "written for alice" in report


def test_gradescope_grades_the_submitter_s_variant(answers, tmp_path):
    exercise = dataclasses.replace(QUADRATIC, secret=SECRET)
    for submitter, expected in (("alice@uni.org", 2), ("bob@uni.org", 0)):
        root = tmp_path / submitter
        (root / "submission").mkdir(parents=True)
        (root / "submission" / "quadratic.py").write_bytes(answers["alice"].read_bytes())
        (root / "submission_metadata.json").write_text(json.dumps({"users": [{"email": submitter, "sid": ""}]}))
        done = autograde(root, exercise, LIMITS)
        assert done.result is not None and done.result.score == expected


# -- bad input: one line, exit 2, nothing written ---------------------------------------------


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "grader.cli", *args], check=False, capture_output=True, text=True,
                          cwd=cwd, timeout=120)


@pytest.mark.parametrize(("roster", "key", "message"), [
    ("id,name,email\nalice,A,a@x\nAlice,B,b@x\n", True, "the id 'Alice' is on lines 2 and 3"),
    ("id,name,email\nal ice,A,a@x\n", True, "cannot name a variant"),
    ("id,name,email\n,A,a@x\n", True, "line 2 has no id"),
    ("id,name,email\nalice,A,a@x\n", False, "cannot read the secret file"),
])
def test_bad_roster_or_missing_secret_is_one_line_exit_2_and_writes_nothing(tmp_path, roster, key, message):
    (tmp_path / "roster.csv").write_text(roster, encoding="utf-8")
    if key:
        (tmp_path / "KEY").write_bytes(SECRET)
    done = _cli("release", "--catalog", str(CATALOG), "--out", "kit", "--roster", "roster.csv", "--secret-file",
                "KEY", cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    assert message in done.stderr and len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert not (tmp_path / "kit").exists()


def test_grading_a_variant_without_the_secret_or_learner_is_exit_2(answers, tmp_path):
    body = answers["alice"].read_text(encoding="utf-8").split("\n", 1)[1]
    (tmp_path / "quadratic.py").write_text(body, encoding="utf-8")
    (tmp_path / "KEY").write_bytes(SECRET)
    for args, message in ((("quadratic.py",), "pass --secret-file KEY"),
                          (("quadratic.py", "--secret-file", "KEY"), "pass --learner ID"),
                          (("quadratic.py", "--secret-file", "missing"), "cannot read the secret file")):
        done = _cli("grade", "--catalog", str(CATALOG), *args, cwd=tmp_path)
        assert done.returncode == 2 and message in done.stderr, done.stderr
    done = _cli("release", "--catalog", str(CATALOG), "--out", "kit", cwd=tmp_path)
    assert done.returncode == 2 and "--roster" in done.stderr and not (tmp_path / "kit").exists()


def test_the_decision_names_the_instance_and_why_a_file_scores_zero():
    alice_line = read_id_line(id_line("alice", "quadratic", SECRET) + "\n")
    honest = decide_variant(QUADRATIC.parameters, "quadratic", "Alice", alice_line, SECRET)
    assert honest == VariantDecision("alice", instance(QUADRATIC.parameters, "alice", "quadratic", SECRET))
    assert decide_variant(QUADRATIC.parameters, "quadratic", None, alice_line, SECRET) == honest  # from the line
    other = decide_variant(QUADRATIC.parameters, "quadratic", "bob", alice_line, SECRET)
    assert other.variant == instance(QUADRATIC.parameters, "bob", "quadratic", SECRET)
    assert other.diagnosis == "variant_other_learner" and "written for alice's numbers, not bob's" in other.message
    forged = decide_variant(QUADRATIC.parameters, "quadratic", "alice", ("alice", "0" * 20), SECRET)
    assert forged.diagnosis == "variant_forged" and "does not authenticate" in forged.message
    assert decide_variant(QUADRATIC.parameters, "quadratic", "erin", None, SECRET).diagnosis == ""
    with pytest.raises(ValueError):
        decide_variant(QUADRATIC.parameters, "quadratic", None, None, SECRET)


def test_grading_on_a_decision_needs_no_key_and_equals_grading_with_it(answers):
    keyless = dataclasses.replace(QUADRATIC, secret=None)
    for path, learner in ((answers["alice"], "alice"), (answers["alice"], "bob"), (answers["bob"], None)):
        decision = variant_decision(path, QUADRATIC, learner, SECRET)
        assert decision == variant_decision(path, QUADRATIC, learner, SECRET, path.read_bytes())
        split = grade_on_variant(path, keyless, decision, LIMITS)
        whole = grade_variant_file(path, QUADRATIC, learner, SECRET, LIMITS)
        assert [(i.points, i.diagnosis, i.feedback) for i in split.items] == \
            [(i.points, i.diagnosis, i.feedback) for i in whole.items]
        assert split.notes == whole.notes
    with pytest.raises(UsageError, match="pass --secret-file"):
        variant_decision(answers["alice"], QUADRATIC, "alice", None)
