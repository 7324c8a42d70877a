"""The terminal form of ``grader equiv``'s answer for one pair of expressions."""

from __future__ import annotations

from ..equiv_tool import PairReport


def render(report: PairReport) -> str:
    """The terminal form of a PairReport: verdict, evidence, diagnosis, readings."""
    v = report.verdict
    lines = [f"{v.status.replace('_', ' ')} ({v.method}): {v.evidence}"]
    if report.diagnosis is not None:
        lines.append(f"diagnosis ({report.diagnosis.tag}): {report.diagnosis.feedback}")
    lines.append(f"  A read as: {report.reading_a}")
    lines.append(f"  B read as: {report.reading_b}")
    domains = ", ".join(var.describe() for var in report.variables) or "no variables"
    lines.append(f"  over: {domains}  ({report.seconds * 1e3:.1f} ms)")
    return "\n".join(lines)
