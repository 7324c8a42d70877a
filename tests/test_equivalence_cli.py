"""``grader equiv``: exit statuses, text and JSON output, --jsonl batches (end to end on real files)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest
from click.testing import CliRunner

from grader.cli import main
from grader.equiv_tool import EXIT_FOR, check_pair, parse_variable, run_jsonl
from grader.errors import EXIT_INTERNAL, EXIT_UNDECIDED, UsageError

GRADER = shutil.which("grader")


def run(*args: str) -> subprocess.CompletedProcess[str]:
    cmd = [GRADER, *args] if GRADER else [sys.executable, "-m", "grader.cli", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)


@pytest.mark.parametrize("args,code,fragment", [
    (["σ(x)(1-σ(x))", "1/(4cosh(x/2)^2)"], 0, "equivalent (numeric)"),
    (["-e^(-x)", "e^(-x)", "--var", "x"], 1, "diagnosis (sign_error)"),
    (["log(-x^2-1)", "log(-x^2-2)"], 4, "undecided"),
    (["sqrt(x^2)", "x", "--var", "x:positive"], 0, "over: x > 0"),
    (["x", "x+"], 2, "cannot read B: the answer ends too early"),
    (["x", "y", "--var", "x"], 2, "unknown name 'y': the variables here are x"),
    (["x"], 2, "give two expressions"),
    (["x", "x", "--var", "x:sideways"], 2, "unknown domain"),
], ids=["equivalent", "not-equivalent", "undecided", "domain", "parse-error", "unknown-name", "one-arg",
        "bad-domain"])
def test_exit_status_and_output(args, code, fragment):
    res = CliRunner().invoke(main, ["equiv", *args])
    assert res.exit_code == code, res.output
    assert fragment in res.output


def test_reading_is_echoed():
    res = CliRunner().invoke(main, ["equiv", "2^x*ln(2)", "2^x ln(2)"])
    assert "A read as: 2^x · ln(2)" in res.output and res.exit_code == 0


def test_json_output_has_verdict_evidence_and_diagnosis():
    res = CliRunner().invoke(main, ["equiv", "2x cos(x^2)", "4x cos(x^2)", "--json"])
    assert res.exit_code == 1
    doc = json.loads(res.output)
    assert doc["verdict"] == "not_equivalent"
    assert doc["evidence"]["counterexample"] == {"x": 1}
    assert doc["evidence"]["a_value"] == pytest.approx(2 * 1 * 0.5403023058681398)
    assert doc["diagnosis"]["tag"] == "constant_factor" and doc["diagnosis"]["factor"] == "2"


def test_jsonl_end_to_end_on_a_real_file(tmp_path):
    lines = [
        {"id": "q1", "a": "2x", "b": "x*2", "vars": ["x"], "learner": "ann"},
        {"id": "q2", "a": "-e^(-x)", "b": "e^(-x)", "vars": ["x"]},
        {"id": "q3", "a": "log(x)", "b": "ln(x", "vars": ["x"]},
        {"id": "q4", "a": "sqrt(x^2)", "b": "x", "vars": {"x": "positive"}},
    ]
    path = tmp_path / "answers.jsonl"
    path.write_text("\n".join(json.dumps(x) for x in lines) + "\n\nnot json\n", encoding="utf-8")
    out = run("equiv", "--jsonl", str(path))
    assert out.returncode == 2, out.stderr  # two malformed lines were reported, the rest graded
    rows = [json.loads(x) for x in out.stdout.splitlines()]
    by = {r.get("id", r.get("line")): r for r in rows}
    assert by["q1"]["verdict"] == "equivalent" and by["q1"]["learner"] == "ann"
    assert by["q2"]["verdict"] == "not_equivalent" and by["q2"]["diagnosis"]["tag"] == "sign_error"
    assert by["q3"]["verdict"] == "error" and "cannot read b" in by["q3"]["error"]
    assert by["q4"]["verdict"] == "equivalent"
    assert by[6]["verdict"] == "error" and "not JSON" in by[6]["error"]
    assert all(isinstance(r.get("seconds", 0), float) for r in rows)


def test_jsonl_all_good_exits_zero(tmp_path):
    path = tmp_path / "ok.jsonl"
    path.write_text(json.dumps({"a": "x^2", "b": "x*x"}) + "\n", encoding="utf-8")
    res = CliRunner().invoke(main, ["equiv", "--jsonl", str(path)])
    assert res.exit_code == 0
    assert json.loads(res.output)["verdict"] == "equivalent"


def test_library_api():
    report = check_pair("x^2", "x*x", ["x:(0, 1)"])
    assert report.verdict.status == "equivalent" and report.variables[0].lo == 0.0
    assert parse_variable("n:positive integer").kind == "integer"
    with pytest.raises(UsageError):
        parse_variable("1x")
    out = list(run_jsonl(['{"a": "x", "b": "x", "vars": 5}']))
    assert out[0]["verdict"] == "error" and "'vars' must be a list" in out[0]["error"]


def test_jsonl_names_the_unreadable_side_even_when_it_is_too_long(tmp_path):
    from grader.equiv_tool import run_jsonl

    rows = list(run_jsonl([json.dumps({"id": "long", "a": "x+" * 1500 + "x", "b": "x", "vars": ["x"]})]))
    assert rows[0]["verdict"] == "error" and rows[0]["error"].startswith("cannot read a:")


@pytest.mark.parametrize("a,b,side", [
    ("x+" * 1500 + "x", "x", "A"),
    ("x", "x+" * 1500 + "x", "B"),
    ("x+" * 1500 + "x", "x+" * 1500 + "x", "A"),
], ids=["long-a", "long-b", "both-long"])
def test_the_unreadable_side_is_named_even_when_it_is_too_long(a, b, side):
    res = CliRunner().invoke(main, ["equiv", a, b, "--var", "x"])
    assert res.exit_code == 2
    assert f"cannot read {side}:" in res.output and "Traceback" not in res.output


def test_undecided_has_its_own_status_documented_in_help():
    assert EXIT_FOR["undecided"] == EXIT_UNDECIDED == 4 != EXIT_INTERNAL
    assert len(set(EXIT_FOR.values())) == 3
    res = CliRunner().invoke(main, ["equiv", "--help"])
    assert res.exit_code == 0 and "4 undecided" in " ".join(res.output.split())


def test_help_and_readme_give_the_same_equiv_statuses():
    from .conftest import ROOT

    readme = ROOT.joinpath("README.md").read_text(encoding="utf-8")
    section = " ".join(readme.split("## Checking equivalence (grader equiv)", 1)[1].split("\n## ", 1)[0].split())
    for verdict, code in EXIT_FOR.items():
        assert f"{code} {verdict.replace('_', ' ')}" in section
