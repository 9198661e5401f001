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

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    BigInteger,
    DateTime,
    Float,
    Integer,
    String,
    and_,
    case,
    cast,
    except_,
    exists,
    false,
    func,
    literal,
    or_,
    select,
    union_all,
)
from sqlalchemy.orm import Mapped, Session, mapped_column

from app.db import Base
from app.models import Proposal
from app.models.stages import Funding
from app.reports import queries
from app.reports.queries import Breakdown, Filters
from app.reports.stays import ProposalStay
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


class _Money:
    requested: Mapped[int] = mapped_column(BigInteger)
    counterpart: Mapped[int] = mapped_column(BigInteger)
    approved: Mapped[int] = mapped_column(BigInteger)
    # Stages of queries.FUNNEL the proposal's trail entered (1/0 in a fact, proposals in a cell)
    reached_created: Mapped[int] = mapped_column(Integer)
    reached_submitted: Mapped[int] = mapped_column(Integer)
    reached_appraisal: Mapped[int] = mapped_column(Integer)
    reached_shortlisted: Mapped[int] = mapped_column(Integer)
    reached_funded: Mapped[int] = mapped_column(Integer)
    reached_implementing: Mapped[int] = mapped_column(Integer)
    reached_implemented: Mapped[int] = mapped_column(Integer)
    reached_settled: Mapped[int] = mapped_column(Integer)
    reached_evaluated: Mapped[int] = mapped_column(Integer)


class ReportFact(_Dimensions, _Money, Base):
    __tablename__ = "report_fact"

    proposal_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)


class ReportStayDays(_Dimensions, Base):
    """A stay of ``proposal_stay`` with its proposal's dimensions (``state`` is the proposal's current state)."""

    __tablename__ = "report_stay_days"

    stay_id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"), primary_key=True,
                                         autoincrement=False)
    proposal_id: Mapped[int] = mapped_column(Integer)
    stay_state: Mapped[str] = mapped_column(String(64))
    entered_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    days: Mapped[float | None] = mapped_column(Float)


class ReportStayBucket(_Dimensions, Base):
    """Finished stays of ``report_stay_days`` per stage left, whole day (floor of days) and dimensions (migration
    0020_stay_median, kept by triggers on report_stay_days)."""

    __tablename__ = "report_stay_bucket"
    __mapper_args__ = {"primary_key": ("stay_state", "bucket", "province_code", "district_code", "commune_code",
                                       "state", "category", "fund", "year")}

    stay_state: Mapped[str] = mapped_column(String(64))
    bucket: Mapped[int] = mapped_column(Integer)
    n: Mapped[int] = mapped_column(Integer)


class ReportCube(_Dimensions, _Money, Base):
    __tablename__ = "report_cube"
    __mapper_args__ = {"primary_key": ("province_code", "district_code", "commune_code", "state", "category",
                                       "fund", "year")}

    n: Mapped[int] = mapped_column(Integer)


DIMENSIONS = ("province_code", "district_code", "commune_code", "state", "category", "fund", "year")
MONEY = ("requested", "counterpart", "approved")
REACHED = tuple(f"reached_{key}" for key, _, _ in queries.FUNNEL)
MEASURES = MONEY + REACHED
_UNIT_KINDS = {"province": "province_code", "district": "district_code", "commune": "commune_code"}
Table = type[ReportCube] | type[ReportStayDays] | type[ReportStayBucket]


def scope(user: Any, table: Table) -> Any | None:
    """``app.scoping.scope_clause`` over the table's dimensions, or None when the user's scope is not made of
    units (an organisation's own proposals, a council seat): the caller then reads the base tables."""
    scopes = role_scopes()
    conditions = []
    for grant in user.grants:
        kind = scopes.get(grant.role)
        if grant.role == COUNCIL_ROLE or (kind == "own" and user.organisation_id is not None):
            return None
        if kind in _UNIT_KINDS and grant.unit_code:
            conditions.append(and_(getattr(table, _UNIT_KINDS[kind]) == grant.unit_code,
                                   table.state != DRAFT_STATE))
    return or_(*conditions) if conditions else false()


def where(user: Any, filters: Filters, table: Table) -> Any | None:
    """``queries.where`` over the table's dimensions (None: read the base tables, see :func:`scope`)."""
    user_scope = scope(user, table)
    if user_scope is None:
        return None
    return and_(user_scope, *queries.matching(
        filters, year=table.year, district=table.district_code, commune=table.commune_code,
        category=table.category, fund=table.fund, state=table.state))


def breakdown(session: Session, user: Any, filters: Filters) -> Breakdown:
    """``queries.breakdown`` for this user and these filters, from the cube when the scope allows."""
    cond = where(user, filters, ReportCube)
    if cond is None:
        return queries.breakdown(session, queries.where(user, filters))
    cells = (select(ReportCube.state.label("state"),
                    func.nullif(ReportCube.district_code, NO_UNIT).label("district"),
                    func.nullif(ReportCube.commune_code, NO_UNIT).label("commune"),
                    ReportCube.category.label("category"), ReportCube.fund.label("fund"),
                    ReportCube.year.label("year"), ReportCube.n.label("n"),
                    *(getattr(ReportCube, m).label(m) for m in MONEY))
             .where(cond, ReportCube.n > 0).cte("cells").prefix_with("MATERIALIZED"))
    return queries.breakdown_over(session, cells, cells.c.n)


def median_durations(session: Session, user: Any, filters: Filters) -> dict[str, tuple[float, int]]:
    """``queries.median_durations`` from the stays' day counts when the scope allows: the finished stays in
    scope per (stage, whole day) from ``report_stay_bucket``; per stage, the day(s) holding the middle row(s).
    When the lowest and the highest stay of those days round to the same tenth, so does the median (it lies
    between them); otherwise the middle rows themselves are read from ``report_stay_days``'s (stay_state,
    days, …) index. Exact, as percentile_cont, either way; at most two short index reads per stage."""
    cond, in_buckets = where(user, filters, ReportStayDays), where(user, filters, ReportStayBucket)
    if cond is None or in_buckets is None:
        return queries.median_durations(session, queries.where(user, filters))
    day = (ReportStayBucket.stay_state, ReportStayBucket.bucket)
    counted = (select(*day, func.sum(ReportStayBucket.n)).where(in_buckets, ReportStayBucket.n > 0)
               .group_by(*day).order_by(*day))
    days_of: dict[str, list[tuple[int, int]]] = {}
    for name, bucket, n in session.execute(counted):
        days_of.setdefault(name, []).append((bucket, int(n)))
    reads = {name: _middle_reads(buckets) for name, buckets in days_of.items()}
    # the ends of the middle day(s): the first row of the first, the last row of the last
    ends = [(name, (parts[0][0], 0, 1, False)) for name, parts in reads.items()]
    ends += [(name, (parts[-1][0], 0, 1, True)) for name, parts in reads.items()]
    bounds = _read_days(session, cond, ends)
    out = {}
    for name, (lowest, *_, highest) in bounds.items():
        if round(lowest, 1) == round(highest, 1):
            out[name] = round(lowest, 1)
    middles = _read_days(session, cond, [(name, read) for name, parts in reads.items() if name not in out
                                         for read in parts])
    out.update({name: round(queries.middle_value(middle), 1) for name, middle in middles.items()})
    return {name: (out[name], sum(n for _, n in buckets)) for name, buckets in days_of.items()}


def _read_days(session: Session, cond: Any, reads: list[tuple[str, tuple[int, int, int, bool]]],
               ) -> dict[str, list[float]]:
    """stage -> the days of the stays read, ascending: per (stage, (day, offset, limit, descending)), a range
    of ``report_stay_days``'s (stay_state, days, …) index within that whole day, in scope; one statement."""
    if not reads:
        return {}
    days = ReportStayDays.days
    parts = [select(literal(i).label("part"), days.label("days"))
             .where(cond, ReportStayDays.stay_state == name, days >= bucket, days < bucket + 1)
             .order_by(days.desc() if descending else days).offset(offset).limit(limit).subquery()
             for i, (name, (bucket, offset, limit, descending)) in enumerate(reads)]
    found: dict[str, list[float]] = {}
    for part, value in session.execute(union_all(*(select(*p.c) for p in parts))):
        found.setdefault(reads[part][0], []).append(float(value))
    return {name: sorted(values) for name, values in found.items()}


def _middle_reads(buckets: list[tuple[int, int]]) -> list[tuple[int, int, int, bool]]:
    """Which rows of which days to read for the median of a stage whose finished stays number ``n`` per whole
    day ``buckets`` (ascending): (day, offset, limit, descending) — rows (n-1)//2 and n//2 in days order, each
    read from the nearer end of its day so an index walk passes at most half of the day's rows."""
    total = sum(n for _, n in buckets)
    wanted: dict[int, list[int]] = {}  # day -> positions of the middle rows within it
    before = 0
    for bucket, n in buckets:
        for position in sorted({(total - 1) // 2, total // 2}):
            if before <= position < before + n:
                wanted.setdefault(bucket, []).append(position - before)
        before += n
    reads = []
    sizes = dict(buckets)
    for bucket, positions in wanted.items():
        first, last, size = positions[0], positions[-1], sizes[bucket]
        if first <= size - 1 - last:
            reads.append((bucket, first, len(positions), False))
        else:
            reads.append((bucket, size - 1 - last, len(positions), True))
    return reads


def funnel(session: Session, user: Any, filters: Filters, between: tuple[dt.date, dt.date] | None = None,
           ) -> list[tuple[str, tuple[str, str], int]]:
    """``queries.funnel`` when the scope allows: over all time from the cube's reached_* sums, over a period
    from the stays entered in it (``report_stay_days``, a range of its entered_at index)."""
    cond = where(user, filters, ReportCube)
    if cond is None:
        return queries.funnel(session, queries.where(user, filters), between)
    if between is not None:
        in_scope = where(user, filters, ReportStayDays)
        stays = (ReportStayDays.stay_state, ReportStayDays.proposal_id, ReportStayDays.entered_at)
        return queries.funnel_over(session, stays, between, lambda stmt: stmt.where(in_scope))
    sums = session.execute(select(*(func.coalesce(func.sum(getattr(ReportCube, r)), 0) for r in REACHED))
                           .where(cond, ReportCube.n > 0)).one()
    return [(key, title, int(n)) for (key, title, _), n in zip(queries.FUNNEL, sums, strict=True)]


# --- the check --------------------------------------------------------------------------------------------------

Cell = tuple[Any, ...]  # the values of DIMENSIONS


@dataclass(frozen=True)
class Difference:
    cell: Cell
    expected: tuple[int, ...]  # (n, *MEASURES) from the base tables
    found: tuple[int, ...]  # the same from report_cube; zeros when the cell is missing


def _base_dimensions() -> tuple[Any, ...]:
    """DIMENSIONS from the proposal row, as the triggers store them."""
    return (Proposal.province_code, func.coalesce(Proposal.district_code, NO_UNIT),
            func.coalesce(Proposal.commune_code, NO_UNIT), Proposal.wf_state, Proposal.category, Proposal.fund,
            Proposal.year)


def _from_base(session: Session) -> dict[Cell, tuple[int, ...]]:
    dims = _base_dimensions()
    reached = [func.sum(case((exists().where(ProposalStay.proposal_id == Proposal.id, ProposalStay.state.in_(states)),
                              1), else_=0)) for _, _, states in queries.FUNNEL]
    stmt = (select(*dims, func.count(), func.sum(func.coalesce(Proposal.requested_support, 0)),
                   func.sum(func.coalesce(Proposal.counterpart_funds, 0)),
                   func.sum(func.coalesce(Funding.approved_amount, 0)), *reached)
            .outerjoin(Funding, Funding.proposal_id == Proposal.id).group_by(*dims))
    return {tuple(row[:7]): tuple(int(v) for v in row[7:]) for row in session.execute(stmt)}


def _from_cube(session: Session) -> dict[Cell, tuple[int, ...]]:
    stmt = select(*(getattr(ReportCube, d) for d in DIMENSIONS), ReportCube.n,
                  *(getattr(ReportCube, m) for m in MEASURES)).where(ReportCube.n != 0)
    return {tuple(row[:7]): tuple(int(v) for v in row[7:]) for row in session.execute(stmt)}


def differences(session: Session) -> list[Difference]:
    """Every cell whose count or sums differ between the cube and a GROUP BY over the base tables (empty when
    the triggers kept it right); also a cell of the cube whose proposals are gone, and a missing one."""
    expected, found = _from_base(session), _from_cube(session)
    zero = (0,) * (1 + len(MEASURES))
    return [Difference(cell, expected.get(cell, zero), found.get(cell, zero))
            for cell in sorted(expected.keys() | found.keys(), key=repr)
            if expected.get(cell, zero) != found.get(cell, zero)]


def stay_differences(session: Session) -> list[int]:
    """The stays (ids) whose ``report_stay_days`` row is missing, extra or disagrees with ``proposal_stay``
    and its proposal's dimensions (empty when the triggers kept it right)."""
    base = (select(ProposalStay.id, ProposalStay.proposal_id, ProposalStay.state, ProposalStay.entered_at,
                   ProposalStay.days, *_base_dimensions())
            .join(Proposal, Proposal.id == ProposalStay.proposal_id))
    kept = select(ReportStayDays.stay_id, ReportStayDays.proposal_id, ReportStayDays.stay_state,
                  ReportStayDays.entered_at, ReportStayDays.days, *(getattr(ReportStayDays, d) for d in DIMENSIONS))
    missing = session.scalars(select(except_(base, kept).subquery().c[0]))
    extra = session.scalars(select(except_(kept, base).subquery().c[0]))
    return sorted({*missing, *extra})


def whole_days(days: Any) -> Any:
    """floor(days) as an integer on both databases (CAST truncates on SQLite and rounds on PostgreSQL; the
    correction makes either the floor), as migration 0020_stay_median buckets the stays."""
    truncated = cast(days, Integer)
    return truncated - case((days < truncated, 1), else_=0)


@dataclass(frozen=True)
class BucketDifference:
    key: tuple[Any, ...]  # (stay_state, bucket, *DIMENSIONS)
    expected: int  # finished stays, from the base tables
    found: int  # report_stay_bucket's n; 0 when the row is missing


def bucket_differences(session: Session) -> list[BucketDifference]:
    """The (stage, whole day, dimensions) whose count in ``report_stay_bucket`` differs from the finished stays
    of ``proposal_stay`` with their proposal's dimensions (empty when the triggers kept it right)."""
    key = (ProposalStay.state, whole_days(ProposalStay.days), *_base_dimensions())
    base = (select(*key, func.count()).join(Proposal, Proposal.id == ProposalStay.proposal_id)
            .where(ProposalStay.days.is_not(None)).group_by(*key))
    expected = {tuple(row[:-1]): int(row[-1]) for row in session.execute(base)}
    kept = (select(ReportStayBucket.stay_state, ReportStayBucket.bucket,
                   *(getattr(ReportStayBucket, d) for d in DIMENSIONS), ReportStayBucket.n)
            .where(ReportStayBucket.n != 0))
    found = {tuple(row[:-1]): int(row[-1]) for row in session.execute(kept)}
    return [BucketDifference(k, expected.get(k, 0), found.get(k, 0))
            for k in sorted(expected.keys() | found.keys(), key=repr) if expected.get(k, 0) != found.get(k, 0)]
