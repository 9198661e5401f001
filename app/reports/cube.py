"""The dashboard's counts and money read from the report cube (migration 0016_report_cube).

``report_fact`` (one row per proposal: its dimensions and money) and ``report_cube`` (per cell of the
dimensions: proposals and sums) are written only by database triggers on ``proposal`` and ``funding``, in the
statement that changes them; the application only reads them. A cell keeps the units (province, former
district, commune) and the state, so a district or commune officer's scope and the filters are WHERE clauses on
the cells. Scopes the cells cannot express (an applicant's own organisation, council seats) read the base
tables instead (``queries.breakdown``): same figures, more rows.

:func:`differences` recomputes every cell from the base tables and lists those that disagree (``flask reports
check-cube``); the property test in tests/reports/test_cube.py holds it empty after random writes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import BigInteger, Integer, String, and_, false, func, or_, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from app.db import Base
from app.models import Proposal
from app.models.stages import Funding
from app.reports import queries
from app.reports.queries import Breakdown, Filters
from app.scoping import COUNCIL_ROLE, DRAFT_STATE, role_scopes

NO_UNIT = ""  # a proposal without a district (or commune) code, in the cube's NOT NULL unit columns


class _Dimensions:
    province_code: Mapped[str] = mapped_column(String(16))
    district_code: Mapped[str] = mapped_column(String(16))
    commune_code: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(64))
    category: Mapped[str] = mapped_column(String(32))
    fund: Mapped[str] = mapped_column(String(16))
    year: Mapped[int] = mapped_column(Integer)
    requested: Mapped[int] = mapped_column(BigInteger)
    counterpart: Mapped[int] = mapped_column(BigInteger)
    approved: Mapped[int] = mapped_column(BigInteger)


class ReportFact(_Dimensions, Base):
    __tablename__ = "report_fact"

    proposal_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)


class ReportCube(_Dimensions, Base):
    __tablename__ = "report_cube"
    __mapper_args__ = {"primary_key": ("province_code", "district_code", "commune_code", "state", "category",
                                       "fund", "year")}

    n: Mapped[int] = mapped_column(Integer)


DIMENSIONS = ("province_code", "district_code", "commune_code", "state", "category", "fund", "year")
MONEY = ("requested", "counterpart", "approved")
_UNIT_COLUMN = {"province": ReportCube.province_code, "district": ReportCube.district_code,
                "commune": ReportCube.commune_code}


def scope(user: Any) -> Any | None:
    """``app.scoping.scope_clause`` over the cells, or None when the user's scope is not made of units (an
    organisation's own proposals, a council seat): the caller then reads the base tables."""
    scopes = role_scopes()
    conditions = []
    for grant in user.grants:
        kind = scopes.get(grant.role)
        if grant.role == COUNCIL_ROLE or (kind == "own" and user.organisation_id is not None):
            return None
        if kind in _UNIT_COLUMN and grant.unit_code:
            conditions.append(and_(_UNIT_COLUMN[kind] == grant.unit_code, ReportCube.state != DRAFT_STATE))
    return or_(*conditions) if conditions else false()


def where(user_scope: Any, filters: Filters) -> Any:
    """``queries.where`` over the cells: the scope and the filters, on non-empty cells."""
    conditions = [user_scope, ReportCube.n > 0]
    if filters.year_from is not None:
        conditions.append(ReportCube.year >= filters.year_from)
    if filters.year_to is not None:
        conditions.append(ReportCube.year <= filters.year_to)
    if filters.unit:
        conditions.append(or_(ReportCube.district_code == filters.unit, ReportCube.commune_code == filters.unit))
    for name in ("category", "fund", "state"):
        if getattr(filters, name):
            conditions.append(getattr(ReportCube, name) == getattr(filters, name))
    return and_(*conditions)


def breakdown(session: Session, user: Any, filters: Filters) -> Breakdown:
    """``queries.breakdown`` for this user and these filters, from the cube when the scope allows."""
    user_scope = scope(user)
    if user_scope is None:
        return queries.breakdown(session, queries.where(user, filters))
    cells = (select(ReportCube.state.label("state"),
                    func.nullif(ReportCube.district_code, NO_UNIT).label("district"),
                    func.nullif(ReportCube.commune_code, NO_UNIT).label("commune"),
                    ReportCube.category.label("category"), ReportCube.fund.label("fund"),
                    ReportCube.year.label("year"), ReportCube.n.label("n"),
                    *(getattr(ReportCube, m).label(m) for m in MONEY))
             .where(where(user_scope, filters)).cte("cells").prefix_with("MATERIALIZED"))
    return queries.breakdown_over(session, cells, cells.c.n)


# --- the check --------------------------------------------------------------------------------------------------

Cell = tuple[Any, ...]  # the values of DIMENSIONS


@dataclass(frozen=True)
class Difference:
    cell: Cell
    expected: tuple[int, ...]  # (n, requested, counterpart, approved) from the base tables
    found: tuple[int, ...]  # the same from report_cube; zeros when the cell is missing


def _from_base(session: Session) -> dict[Cell, tuple[int, ...]]:
    dims = (Proposal.province_code, func.coalesce(Proposal.district_code, NO_UNIT),
            func.coalesce(Proposal.commune_code, NO_UNIT), Proposal.wf_state, Proposal.category, Proposal.fund,
            Proposal.year)
    stmt = (select(*dims, func.count(), func.sum(func.coalesce(Proposal.requested_support, 0)),
                   func.sum(func.coalesce(Proposal.counterpart_funds, 0)),
                   func.sum(func.coalesce(Funding.approved_amount, 0)))
            .outerjoin(Funding, Funding.proposal_id == Proposal.id).group_by(*dims))
    return {tuple(row[:7]): tuple(int(v) for v in row[7:]) for row in session.execute(stmt)}


def _from_cube(session: Session) -> dict[Cell, tuple[int, ...]]:
    stmt = select(*(getattr(ReportCube, d) for d in DIMENSIONS), ReportCube.n,
                  *(getattr(ReportCube, m) for m in MONEY)).where(ReportCube.n != 0)
    return {tuple(row[:7]): tuple(int(v) for v in row[7:]) for row in session.execute(stmt)}


def differences(session: Session) -> list[Difference]:
    """Every cell whose count or sums differ between the cube and a GROUP BY over the base tables (empty when
    the triggers kept it right); also a cell of the cube whose proposals are gone, and a missing one."""
    expected, found = _from_base(session), _from_cube(session)
    zero = (0,) * (1 + len(MONEY))
    return [Difference(cell, expected.get(cell, zero), found.get(cell, zero))
            for cell in sorted(expected.keys() | found.keys(), key=repr)
            if expected.get(cell, zero) != found.get(cell, zero)]
