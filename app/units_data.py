"""The administrative units over time and the successor table, loaded from the data files that
tools/build_units.py generates from the maintained packages (see docs/units.md).

``units_thai_nguyen.csv``: every unit of Thái Nguyên (19) before and after the 1 July 2025 reform, and of the former
Bắc Kạn (06) it absorbed, each with ``valid_from``/``valid_to``. ``unit_successors.csv``: old commune -> new commune.
Bad files are refused with ``FILE:LINE: what``.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

DATA_DIR = Path(__file__).resolve().parent / "data"
UNITS_FILE = DATA_DIR / "units_thai_nguyen.csv"
SUCCESSORS_FILE = DATA_DIR / "unit_successors.csv"


class UnitDataError(ValueError):
    """A units or successors file that cannot be loaded; the message is ``FILE:LINE: what``."""


@dataclass(frozen=True)
class UnitRow:
    line: int
    code: str
    level: str
    name: str
    parent_code: str | None
    district_code: str | None
    valid_from: dt.date | None
    valid_to: dt.date | None


@dataclass(frozen=True)
class SuccessorRow:
    line: int
    old_code: str
    new_code: str
    note: str


def _rows(path: Path, columns: tuple[str, ...]) -> Iterator[tuple[int, dict[str, str]]]:
    """(line, row) of a CSV file whose leading ``#`` lines name its source."""
    with open(path, encoding="utf-8", newline="") as f:
        lines = list(enumerate(f, 1))
    body = [(n, text) for n, text in lines if not text.startswith("#")]
    if not body:
        raise UnitDataError(f"{path}:1: no header line")
    header_line, header = body[0]
    names = next(csv.reader([header]))
    missing = [c for c in columns if c not in names]
    if missing:
        raise UnitDataError(f"{path}:{header_line}: missing column(s) {', '.join(missing)}")
    for n, text in body[1:]:
        if text.strip():
            values = next(csv.reader([text]))
            if len(values) != len(names):
                raise UnitDataError(f"{path}:{n}: {len(values)} fields, the header has {len(names)}")
            yield n, dict(zip(names, values, strict=True))


def _date(path: Path, line: int, value: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value) if value else None
    except ValueError:
        raise UnitDataError(f"{path}:{line}: '{value}' is not a date (YYYY-MM-DD)") from None


def read_units(path: Path = UNITS_FILE) -> list[UnitRow]:
    out = []
    for line, r in _rows(path, ("code", "level", "name", "parent_code", "district_code", "valid_from", "valid_to")):
        if r["level"] not in ("province", "district", "commune"):
            raise UnitDataError(f"{path}:{line}: unknown level '{r['level']}'")
        row = UnitRow(line, r["code"], r["level"], r["name"], r["parent_code"] or None, r["district_code"] or None,
                      _date(path, line, r["valid_from"]), _date(path, line, r["valid_to"]))
        if row.valid_from and row.valid_to and row.valid_to < row.valid_from:
            raise UnitDataError(f"{path}:{line}: valid_to {row.valid_to} is before valid_from {row.valid_from}")
        out.append(row)
    return out


def read_successors(units: list[UnitRow], path: Path = SUCCESSORS_FILE) -> list[SuccessorRow]:
    """The successor rows, refused when a code is unknown, an old unit was never abolished, a code is listed
    twice or following the successors comes back to where it started."""
    from app.models.units import follow_successors

    abolished = {u.code for u in units if u.level == "commune" and u.valid_to is not None}
    valid_now = {u.code for u in units if u.valid_to is None}
    known = {u.code for u in units if u.level == "commune"}
    rows: dict[str, SuccessorRow] = {}
    for line, r in _rows(path, ("old_code", "new_code")):
        row = SuccessorRow(line, r["old_code"], r["new_code"], r.get("note", ""))
        for column in ("old_code", "new_code"):
            if getattr(row, column) not in known:
                raise UnitDataError(f"{path}:{line}: unknown commune code {getattr(row, column)!r} in {column}")
        if row.old_code not in abolished:
            raise UnitDataError(f"{path}:{line}: commune {row.old_code} was never abolished, it needs no successor")
        if row.old_code in rows:
            raise UnitDataError(f"{path}:{line}: {row.old_code} already has a successor on line "
                                f"{rows[row.old_code].line}")
        rows[row.old_code] = row
    targets = {code: row.new_code for code, row in rows.items()}
    for row in rows.values():
        chain = follow_successors(row.old_code, targets, valid_now)
        if chain[-1] not in valid_now:
            what = "come back to" if chain.count(chain[-1]) > 1 else "end on the abolished"
            raise UnitDataError(f"{path}:{row.line}: the successors of {row.old_code} ({' -> '.join(chain)}) "
                                f"{what} {chain[-1]}" + (": a cycle" if what == "come back to" else ""))
    return list(rows.values())


@lru_cache(maxsize=1)
def _shipped() -> tuple[list[UnitRow], list[SuccessorRow]]:
    units = read_units()
    return units, read_successors(units)


def _old_thai_nguyen() -> tuple[tuple[str, str], tuple[tuple[str, str], ...], dict[str, tuple[tuple[str, str], ...]]]:
    units, _ = _shipped()
    province = next(u for u in units if u.level == "province" and u.code == "19")
    districts = tuple((u.code, u.name) for u in units if u.level == "district" and u.parent_code == "19")
    communes = {code: tuple((u.code, u.name) for u in units if u.level == "commune" and u.parent_code == code
                            and u.valid_to is not None) for code, _ in districts}
    return (province.code, province.name), districts, communes


# The pre-reform Thái Nguyên: its 9 district-level units and their communes (for history and the demo).
PROVINCE, DISTRICTS, COMMUNES = _old_thai_nguyen()


def seed_units(session: Session) -> int:
    """Insert the units, their periods and the successors that are missing; returns how many units were added.
    Flushes, never commits. A successor an admin corrected is kept."""
    from app.models import Unit, UnitPeriod, UnitSuccessor

    units, successors = _shipped()
    have = set(session.scalars(select(Unit.code)))
    latest: dict[str, UnitRow] = {}
    for row in units:  # the file lists the old period of a reused code before the new one
        latest[row.code] = row
    level_order = {"province": 0, "district": 1, "commune": 2}
    added = [row for row in latest.values() if row.code not in have]
    former_district = {u.code: u.district_code for u in units if u.valid_to is not None}
    for row in sorted(added, key=lambda r: level_order[r.level]):
        session.add(Unit(code=row.code, name=row.name, level=row.level, parent_code=row.parent_code,
                         district_code=row.district_code or former_district.get(row.code),
                         active=row.valid_to is None, valid_from=row.valid_from, valid_to=row.valid_to))
    session.flush()
    if not session.scalar(select(UnitPeriod.id).limit(1)):
        session.add_all(UnitPeriod(code=r.code, name=r.name, level=r.level, district_code=r.district_code,
                                   valid_from=r.valid_from, valid_to=r.valid_to) for r in units)
    have_successor = set(session.scalars(select(UnitSuccessor.old_code)))
    session.add_all(UnitSuccessor(old_code=s.old_code, new_code=s.new_code, note=s.note, source=SUCCESSORS_FILE.name)
                    for s in successors if s.old_code not in have_successor)
    session.flush()
    return len(added)
