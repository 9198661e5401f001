"""Administrative units: the province, its (pre-2025) districts and its communes, with official codes."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Boolean, ForeignKey, String, or_, select
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
