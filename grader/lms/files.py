"""Reading the files an LMS or an instructor gives us: a Canvas gradebook export, a roster CSV.

Both are read as UTF-8 with or without a byte-order mark (Excel writes one), by header name
(never by position, so a changed column order is fine), with the csv module's quoting
(``"Smith, Anna"`` is one cell). A file that cannot be used raises UsageError naming the
file and what is wrong; nothing is written by this module.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from ..errors import UsageError
from ..roster import Person, parse_roster
from .matching import IDENTITY, CanvasRow, CanvasSheet

#: first-column labels of the rows a Canvas export puts above the students
_LABEL_ROWS = {"points possible", "manual posting"}


def read_table(path: Path) -> tuple[list[str], list[list[str]]]:
    """The header and the rows of a CSV file (a BOM dropped, blank lines skipped)."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UsageError(f"{path} is not UTF-8 text (byte {exc.start}); save it as \"CSV UTF-8\"") from None
    try:
        table = [row for row in csv.reader(io.StringIO(text, newline="")) if any(c.strip() for c in row)]
    except csv.Error as exc:
        raise UsageError(f"{path} is not a readable CSV file: {exc}") from None
    if not table:
        raise UsageError(f"{path} is empty")
    header = [h.strip() for h in table[0]]
    seen: set[str] = set()
    for h in header:
        if h and h in seen:
            raise UsageError(f"{path} has two columns named {h!r}")
        seen.add(h)
    return header, table[1:]


def read_canvas(path: Path) -> CanvasSheet:
    """A Canvas gradebook export (Grades > Export > Export Entire Gradebook)."""
    header, body = read_table(path)
    wanted = {name.casefold(): name for name in IDENTITY}
    present = {wanted[h.casefold()]: h for h in header if h.casefold() in wanted}  # in the export's order
    if "Student" not in present and "ID" not in present:
        raise UsageError(f"{path} has neither a 'Student' nor an 'ID' column: is it a Canvas gradebook export? "
                         f"(its columns: {', '.join(header[:8])})")
    identity_headers = set(present.values())
    assignments = tuple(h for h in header if h and h not in identity_headers)
    rows: list[CanvasRow] = []
    points: dict[str, float] = {}
    has_points = False
    first = header[0] if header else ""
    for n, cells in enumerate(body, start=2):
        record = dict(zip(header, (c.strip() for c in cells)))
        labels = {record.get(present.get("Student", first), "").casefold(), record.get(first, "").casefold()}
        label = next(iter(labels & _LABEL_ROWS), "")  # a column moved in a spreadsheet: the label may be in either
        if label and not record.get(present.get("ID", ""), ""):
            if label == "points possible":
                has_points = True
                for a in assignments:
                    try:
                        points[a] = float(record.get(a, ""))
                    except ValueError:  # "(read only)" or empty: not a points value
                        pass
            continue
        rows.append(CanvasRow(n, {name: record.get(h, "") for name, h in present.items()}))
    notes: list[str] = []
    missing = [c for c in ("SIS User ID", "SIS Login ID") if c not in present]
    if missing:
        notes.append(f"{path.name} has no {' or '.join(missing)} column: those matching steps are skipped")
    if not has_points:
        notes.append(f"{path.name} has no 'Points Possible' row: points possible cannot be checked")
    ids: dict[str, int] = {}
    for row in rows:
        cid = row.get("ID")
        if cid and cid in ids:
            raise UsageError(f"{path}: the Canvas ID {cid} is on lines {ids[cid]} and {row.line}; an export "
                             "has one row per student, so this file was edited: export it again")
        ids[cid] = row.line
    for col in ("SIS Login ID", "SIS User ID"):
        lines: dict[str, list[int]] = {}
        for row in rows:
            if row.get(col):
                lines.setdefault(row.get(col).casefold(), []).append(row.line)
        notes += [f"{path.name}: {col} {value!r} is on lines {', '.join(map(str, at))}; it is not used to match"
                  for value, at in lines.items() if len(at) > 1]
    return CanvasSheet(tuple(present), tuple(rows), assignments, points, has_points, tuple(notes))


def read_roster(path: Path) -> tuple[Person, ...]:
    """A roster CSV: id, name, email, optional section and aliases (header names in any case and order)."""
    header, body = read_table(path)
    keys = [h.casefold() for h in header]
    return parse_roster([dict(zip(keys, (c.strip() for c in cells))) for cells in body], str(path))
