"""The learner kit: no answers inside, the self-check agrees with the grade on public items, bad kits refused."""

from __future__ import annotations

import inspect
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import sympy as sp

from grader.catalogue import find_catalogue, load_catalogue
from grader.checks import checker_for, kind_of
from grader.checks.inputs import Sheet
from grader.checks.kit_adapters import kit_cases
from grader.checks.numeric import item_cases
from grader.checks.numeric_review import _quietly
from grader.checks.symbolic import symbols_for
from grader.diagnosis import mistake_expression
from grader.encoding import encode_value
from grader.kit import bundle_for, load_bundle, release
from grader.runtypes import CallOutcome, RunResult

ROOT = Path(__file__).resolve().parent.parent
EXERCISES = load_catalogue(find_catalogue(ROOT))
SEED = 4242


@pytest.fixture(scope="module")
def bundles():
    return {ex.name: bundle_for(ex, SEED) for ex in EXERCISES}


def _records(bundle):
    return {r["name"]: r for r in bundle["items"]}


def _symbolic_run(item, calls, value) -> RunResult:
    return RunResult({c.id: CallOutcome(c.id, "ok", encode_value(value)) for c in calls})


def _numeric_run(item, cases, func) -> RunResult:
    out = {}
    for i, case in enumerate(cases):
        cid = f"{item.name}#{i}"
        out[cid] = CallOutcome(cid, "ok", encode_value(_quietly(func, case)),
                               args_after=tuple(encode_value(a) for a in case))
    return RunResult(out)


def _answers(item):
    """(label, answer) pairs: the reference, the untouched template (not attempted), every authored mistake."""
    pairs = [("reference", item.reference)]
    pairs += [(m.tag, m.answer) for m in item.mistakes]
    return pairs


CASES = [(ex, item) for ex in EXERCISES for item in ex.items if not item.hidden]


@pytest.mark.parametrize("ex,item", CASES, ids=[f"{e.name}.{i.name}" for e, i in CASES])
def test_check_verdict_equals_grade_verdict_on_every_public_item(ex, item, bundles):
    record = _records(bundles[ex.name])[item.name]
    if not record["checked"]:
        assert item.kind == "quiz"  # a number/choice question: checked when you submit
        return
    adapter = kind_of(item).kit
    checker = checker_for(item.kind)
    stand_in = adapter.stand_in(record)
    if item.kind == "stage":  # a stage runs beside its exercise's other stages: their references stand by it
        _check_stage_against_grade(ex, item, record, adapter, checker, stand_in)
        return
    for label, answer in _answers(item):
        if item.kind == "symbolic":
            value = answer(*symbols_for(item).values()) if callable(answer) else \
                mistake_expression(type("M", (), {"answer": answer})(), symbols_for(item))
            graded = checker.check(item, _symbolic_run(item, checker.calls(item), value), ex.name)
            checked = adapter.check(record, _symbolic_run(stand_in, checker.calls(stand_in), value), ex.name)
        elif item.kind == "numeric":
            if not callable(answer):
                continue
            graded = checker.check(item, _numeric_run(item, item_cases(item), answer), ex.name)
            checked = adapter.check(record, _numeric_run(stand_in, kit_cases(item, SEED), answer), ex.name)
        else:  # an expression quiz question: the typed key and the typed mistakes
            from grader.checks.quiz import reference_text

            typed = reference_text(item) if label == "reference" else answer
            sheet = Sheet({item.name: {"answer": typed}})
            graded = checker.check(item, sheet, ex.name)
            checked = adapter.check(record, sheet, ex.name)
        assert (checked.status, checked.points) == (graded.status, graded.points), (label, checked.feedback,
                                                                                    graded.feedback)
        if label != "reference":
            assert checked.feedback == graded.feedback, label
    if item.kind != "quiz":  # the untouched template raises NotImplementedError: not attempted, both ways
        error = RunResult({c.id: CallOutcome(c.id, "error", error=_not_implemented())
                           for c in checker.calls(stand_in)})
        assert adapter.check(record, error, ex.name).feedback.startswith("not attempted yet")


def _check_stage_against_grade(ex, item, record, adapter, checker, stand_in):
    """The reference, every authored mistake and the template of one stage: the check's verdict is the grade's,
    or "undecided" with the reason, never "right" where the grade says "wrong"."""
    from .test_backprop import run_functions

    references = {i.name: i.reference for i in ex.items}
    others = [kind_of(i).kit.stand_in(_records(bundle_for(ex, SEED))[i.name]) if i.name != item.name else stand_in
              for i in ex.items]
    grade_calls = [c for i in ex.items for c in checker.calls(i)]
    check_calls = [c for s in others for c in checker.calls(s)]

    def raising(*args):
        raise NotImplementedError

    answers = [("reference", item.reference), ("template", raising)]
    answers += [(m.tag, m.answer) for m in item.mistakes if callable(m.answer)]
    for label, answer in answers:
        functions = {**references, item.name: answer}
        graded = checker.check(item, run_functions(functions, grade_calls), ex.name)
        checked = adapter.check(record, run_functions(functions, check_calls), ex.name)
        assert checked.status in (graded.status, "undecided"), (label, checked.feedback, graded.feedback)
        assert checked.status != "undecided" or "instructor's grading" in checked.feedback
        if label == "reference":
            assert checked.status == "passed"


def _not_implemented():
    from grader.results import ErrorInfo

    return ErrorInfo("NotImplementedError", "")


def _reference_texts() -> set[str]:
    """Every returned expression (sstr, srepr, str) and every source line of every reference and mistake."""
    import inspect

    texts: set[str] = set()
    for ex in EXERCISES:
        for item in ex.items:
            try:
                lines = inspect.getsource(item.reference).splitlines()
            except OSError:
                lines = []
            texts.update(ln.strip() for ln in lines if len(ln.strip()) > 12 and not ln.strip().startswith(
                ('"""', "def ", "@", "#", "return", '"', "'")))
            texts.update(ln.strip() for ln in lines if ln.strip().startswith("return ") and len(ln.strip()) > 12)
            if item.kind in ("symbolic", "quiz"):
                symbols = {v.name: sp.Symbol(v.name, **v.assumptions()) for v in item.variables}
                value = item.reference(*symbols.values())
                for part in value if isinstance(value, (list, tuple)) else [value]:
                    if isinstance(part, sp.Basic) and len(sp.sstr(part)) > 5:
                        texts.update({sp.sstr(part), sp.srepr(part), str(part)})
    return texts


def test_every_stand_in_reference_reports_the_references_parameters(bundles):
    """The kit's stand-in references cannot be run, yet inspect.signature names the reference's parameters:
    the input reader and the static scan decide what to call from them."""
    compared = 0
    for ex in EXERCISES:
        records = _records(bundles[ex.name])
        for item in ex.items:
            record = records[item.name]
            if item.hidden or not record["checked"] or (item.kind == "quiz" and item.answer != "expression"):
                continue
            stand_in = kind_of(item).kit.stand_in(record)
            assert list(inspect.signature(stand_in.reference).parameters) == \
                list(inspect.signature(item.reference).parameters), (ex.name, item.name)
            compared += 1
    assert compared > 10
    # a stage reference with no stored outputs stands in with the record's parameters
    for ex in EXERCISES:
        record = next((r for r in bundles[ex.name]["items"] if r.get("role") == "update"), None)
        if record is not None:
            bare = {**record, "functions": {k: t for k, t in record["functions"].items() if k != record["reference"]}}
            stand_in = kind_of(next(i for i in ex.items if i.name == record["name"])).kit.stand_in(bare)
            assert list(inspect.signature(stand_in.reference).parameters) == record["parameters"]
            return
    raise AssertionError("no update stage in the catalogue")


def test_a_release_of_the_whole_curriculum_holds_no_reference(tmp_path):
    done = release(list(EXERCISES), tmp_path / "kit", seed=SEED)
    bundles = [p for p in done.files if p.name.endswith(".check.json")]
    assert len(bundles) == len(EXERCISES)
    text = "\n".join(p.read_text(encoding="utf-8") for p in bundles)
    found = sorted(t for t in _reference_texts() if t in text)
    assert not found
    for p in bundles:
        assert "pickle" not in p.read_text(encoding="utf-8") and "lambda" not in p.read_text(encoding="utf-8")


def test_hidden_items_keep_only_name_and_points(tmp_path):
    import dataclasses

    ex = next(e for e in EXERCISES if e.name == "derivatives")
    hidden = dataclasses.replace(ex, items=(dataclasses.replace(ex.items[0], hidden=True), *ex.items[1:]))
    record = bundle_for(hidden, SEED)["items"][0]
    assert record == {"name": ex.items[0].name, "points": ex.items[0].points, "checked": False, "why": "hidden"}


def _grader(*args, cwd=None, env=None):
    return subprocess.run([sys.executable, "-m", "grader.cli", *args], check=False, capture_output=True, text=True,
                          cwd=cwd,
                          env={**os.environ, **(env or {})}, timeout=300)


@pytest.fixture(scope="module")
def kit(tmp_path_factory):
    out = tmp_path_factory.mktemp("kit") / "kit"
    done = _grader("release", "--out", str(out), "--seed", str(SEED), "-e", "gradients", "-e", "backprop",
                   "-e", "derivatives", cwd=ROOT)
    assert done.returncode == 0, done.stderr
    return out


def test_check_states_what_it_checked_and_never_all_passed(kit, tmp_path):
    sub = tmp_path / "backprop.py"
    sub.write_text((ROOT / "solutions" / "backprop.py").read_text())
    done = _grader("check", str(sub), "--kit", str(kit), "--sandbox", "rlimits")
    assert done.returncode == 0, done.stderr
    last = done.stdout.strip().splitlines()[-1]
    assert last.startswith("4 of 4 items checked: 4 right, 0 wrong"), last
    assert "all passed" not in done.stdout.lower()


def test_a_lookup_table_of_the_kit_cases_passes_check_and_fails_grade(kit, tmp_path):
    bundle = json.loads((kit / "gradients.check.json").read_text())
    item = next(r for r in bundle["items"] if r.get("kind") == "numeric")
    lines = ["import json, numpy as np", "from grader.encoding import decode_value, encode_value",
             f"_CASES = {json.dumps(item['cases'])!r}", f"_OUT = {json.dumps(item['outputs'])!r}",
             f"def {item['name']}(*args):",
             "    key = json.dumps([encode_value(a) for a in args], sort_keys=True)",
             "    table = {json.dumps(c, sort_keys=True): o for c, o in zip(json.loads(_CASES), json.loads(_OUT))}",
             "    return decode_value(table[key]) if key in table else np.zeros(2)"]
    sub = tmp_path / "gradients.py"
    sub.write_text("\n".join(lines) + "\n")
    checked = _grader("check", str(sub), "--kit", str(kit), "--sandbox", "rlimits", "--json", str(tmp_path / "c.json"))
    graded = _grader("grade", str(sub), "--sandbox", "rlimits", "--json", str(tmp_path / "g.json"), cwd=ROOT)
    assert checked.returncode == 0 and graded.returncode == 0, (checked.stderr, graded.stderr)

    def status(path):
        return {t["name"].split(":")[0].strip(): t["status"] for t in json.loads(path.read_text())["tests"]}

    assert any(item["name"] in k and v == "passed" for k, v in status(tmp_path / "c.json").items())
    assert any(item["name"] in k and v == "failed" for k, v in status(tmp_path / "g.json").items())


@pytest.mark.parametrize("damage,message", [
    (lambda b: b[: len(b) // 2], "corrupt or truncated"),
    (lambda b: b.replace(b'"points": 1', b'"points": 9', 1), "checksum"),
    (lambda b: b.replace(b'"grader": "', b'"grader": "9.', 1), "made by grader"),
])
def test_a_damaged_or_foreign_bundle_is_one_line_and_exit_2(kit, tmp_path, damage, message):
    bad = tmp_path / "kit"
    bad.mkdir()
    (bad / "derivatives.check.json").write_bytes(damage((kit / "derivatives.check.json").read_bytes()))
    sub = tmp_path / "derivatives.py"
    sub.write_text((kit / "derivatives.py").read_text())
    done = _grader("check", str(sub), "--kit", str(bad), "--sandbox", "rlimits", "--json", str(tmp_path / "r.json"))
    assert done.returncode == 2 and message in done.stderr and len(done.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "r.json").exists()


def test_a_bundle_for_another_exercise_and_a_missing_kit_are_refused(kit, tmp_path):
    with pytest.raises(Exception, match="not derivatives"):
        load_bundle(kit / "gradients.check.json", "derivatives")
    sub = tmp_path / "derivatives.py"
    sub.write_text("")
    done = _grader("check", str(sub), "--kit", str(tmp_path / "nowhere"))
    assert done.returncode == 2 and "no learner kit" in done.stderr


@pytest.mark.parametrize("named", [False, True], ids=["by-file-name", "by-exercise-option"])
def test_a_bundle_for_another_exercise_through_the_cli_is_one_line_and_exit_2(kit, tmp_path, named):
    bad = tmp_path / "kit"
    bad.mkdir()
    (bad / "derivatives.check.json").write_bytes((kit / "gradients.check.json").read_bytes())
    sub = tmp_path / "derivatives.py"
    sub.write_text((kit / "derivatives.py").read_text())
    extra = ("-e", "derivatives") if named else ()
    done = _grader("check", str(sub), "--kit", str(bad), "--sandbox", "rlimits", "--json", str(tmp_path / "r.json"),
                   *extra)
    assert done.returncode == 2, done.stdout
    assert "check bundle of exercise gradients, not derivatives" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and not (tmp_path / "r.json").exists()


def test_a_wrong_answer_the_values_cannot_diagnose_says_the_grade_will(kit, tmp_path):
    sub = tmp_path / "derivatives.py"
    sub.write_text((ROOT / "solutions" / "derivatives.py").read_text() + "\n\ndef d_exp(x):\n    return x**3\n")
    done = _grader("check", str(sub), "--kit", str(kit), "--sandbox", "rlimits", "--json", str(tmp_path / "r.json"))
    assert done.returncode == 0, done.stderr
    test = next(t for t in json.loads((tmp_path / "r.json").read_text())["tests"] if t["name"].startswith("d_exp"))
    assert test["score"] == 0
    assert "cannot be told from the kit's values: the grade after you submit names it" in test["output"]
