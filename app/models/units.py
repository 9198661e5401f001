"""Administrative units over time: each code's current unit, every period a code has named (valid_from/valid_to),
and the successor of each abolished commune (the 1 July 2025 reform). See docs/units.md."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import Boolean, Date, ForeignKey, String, Text, or_, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Mapped, Session, aliased, mapped_column

from app.db import Base

LEVELS = ("province", "district", "commune")


class Unit(Base):
    __tablename__ = "unit"

    code: Mapped[str] = mapped_column(String(16), primary_key=True)  # GSO code, e.g. 19, 171, 05776
    name: Mapped[str] = mapped_column(String(200))
    level: Mapped[str] = mapped_column(String(16))  # province | district | commune
    parent_code: Mapped[str | None] = mapped_column(ForeignKey("unit.code"), index=True)
    # After 1 July 2025 districts are abolished: a commune keeps its former district for history.
    district_code: Mapped[str | None] = mapped_column(String(16), index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # The period of the unit the code names today; codes are reused (new xã Tân Cương keeps 05503).
    valid_from: Mapped[dt.date | None] = mapped_column(Date)
    valid_to: Mapped[dt.date | None] = mapped_column(Date)


class UnitPeriod(Base):
    """One unit a code named over a period, e.g. 05503 = old xã Tân Cương until 30/6/2025, new one after."""

    __tablename__ = "unit_period"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(16), index=True)
    name: Mapped[str] = mapped_column(String(200))
    level: Mapped[str] = mapped_column(String(16))
    district_code: Mapped[str | None] = mapped_column(String(16))
    valid_from: Mapped[dt.date | None] = mapped_column(Date)
    valid_to: Mapped[dt.date | None] = mapped_column(Date)


class UnitSuccessor(Base):
    """Where an abolished commune went: ``new_code`` is the unit to file, grant and re-home to instead."""

    __tablename__ = "unit_successor"

    old_code: Mapped[str] = mapped_column(String(16), primary_key=True)
    new_code: Mapped[str] = mapped_column(ForeignKey("unit.code"))
    note: Mapped[str] = mapped_column(Text, default="")
    source: Mapped[str] = mapped_column(String(200))  # the data file, or "admin:<username>" after a correction


def follow_successors(code: str, successors: dict[str, str], valid_now: Iterable[str]) -> list[str]:
    """The chain from an abolished ``code`` to a unit valid today (just ``[code]`` when it is valid or has no
    successor). A chain that comes back on itself ends there: the loader refuses such files."""
    valid, chain = set(valid_now), [code]
    while chain[-1] not in valid and chain[-1] in successors:
        nxt = successors[chain[-1]]
        if nxt in chain:
            chain.append(nxt)
            break
        chain.append(nxt)
    return chain


def _lower_first(name: str) -> str:
    return name[:1].lower() + name[1:]


@dataclass(frozen=True)
class UnitHistory:
    """Every period and successor, read in two queries, to name units as they were on a date."""

    periods: dict[str, list[tuple[dt.date | None, dt.date | None, str]]]
    successors: dict[str, str]
    current: dict[str, str]  # code -> the name of the unit it names today
    valid_now: frozenset[str]  # codes whose unit is not abolished

    @classmethod
    def load(cls, bind: Session | Connection) -> UnitHistory:
        periods: dict[str, list[tuple[dt.date | None, dt.date | None, str]]] = {}
        for code, start, end, name in bind.execute(select(UnitPeriod.code, UnitPeriod.valid_from,
                                                          UnitPeriod.valid_to, UnitPeriod.name)):
            periods.setdefault(code, []).append((start, end, name))
        successors = {old: new for old, new in bind.execute(select(UnitSuccessor.old_code, UnitSuccessor.new_code))}
        valid_now = frozenset(bind.scalars(select(Unit.code).where(Unit.valid_to.is_(None))))
        return cls(periods, successors, unit_names(bind), valid_now)

    def successor(self, code: str) -> str:
        """The unit that took over ``code``'s abolished area (followed to the end; the loader refused cycles)."""
        return follow_successors(code, self.successors, self.valid_now)[-1]

    def name_on(self, code: str | None, day: dt.date) -> str:
        """The unit as it was named on ``day``; when it has been abolished since, also what it is now:
        "xã Thịnh Đức (cũ), nay là xã Tân Cương"."""
        if not code:
            return ""
        for start, end, name in self.periods.get(code, ()):
            if (start is None or start <= day) and (end is None or day <= end):
                if end is None:
                    return name
                now = self.current.get(self.successor(code), "")
                return f"{_lower_first(name)} (cũ), nay là {_lower_first(now)}" if now else f"{name} (cũ)"
        return self.current.get(code, code)

    def place_on(self, commune: str | None, district: str | None, day: dt.date) -> str:
        """Commune as of ``day``, followed by its district if a district of that code existed on ``day``."""
        place = self.name_on(commune, day)
        held = [name for start, end, name in self.periods.get(district or "", ())
                if (start is None or start <= day) and (end is None or day <= end)]
        return f"{place}, {held[0]}" if held else place


def unit_names(bind: Session | Connection, codes: Iterable[str | None] | None = None) -> dict[str, str]:
    """code -> name from the unit table (all units, or just ``codes``), so units an admin added are named too."""
    stmt = select(Unit.code, Unit.name)
    if codes is not None:
        stmt = stmt.where(Unit.code.in_([c for c in codes if c]))
    return {code: name for code, name in bind.execute(stmt)}


def active_communes(session: Session, keep: str | None = None) -> list[tuple[str, str, str | None]]:
    """(code, name, former district's name) of the communes a proposal may be filed in, by district then code.
    ``keep`` (a proposal's current commune) is listed even when inactive, so an edit form never swaps it."""
    district = aliased(Unit)
    stmt = (select(Unit.code, Unit.name, district.name)
            .outerjoin(district, district.code == Unit.district_code)
            .where(Unit.level == "commune", or_(Unit.active.is_(True), Unit.code == (keep or "")))
            .order_by(Unit.district_code.is_(None), Unit.district_code, Unit.code))
    return [(code, name, district_name) for code, name, district_name in session.execute(stmt)]
