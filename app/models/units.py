"""Administrative units: the province, its (pre-2025) districts and its communes, with official codes."""

from __future__ import annotations

from sqlalchemy import Boolean, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

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
