"""Every figure of the dashboard, the statutory reports and the reports API, computed in SQL.

Each function takes the session, the actor and the parsed :class:`Filters`, scopes to the actor through
``app.scoping.scope_clause`` and aggregates with GROUP BY: no Python loop ever runs over proposals (only over
the few result rows, and over at most ``OVERDUE_LIST`` overdue items to give their working-day ages).
:func:`dashboard` reads the counts, the funnel and the stage durations from the report cube (app.reports.cube,
kept by database triggers) when the actor's scope is made of units; the functions here are the reference
the cube is checked against (``cube.differences``) and serve the other scopes.

Money columns of the budget (per envelope):
- allocated: the envelope's amount; approved: funding decisions (after approved changes);
- advanced: advances paid; settled: the final disbursed total of settled proposals;
- disbursed: paid out so far (the settled total when settled, else the advances);
- refunded: refunds at settlement; counterpart: the funded proposals' own contribution.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import (
    String,
    and_,
    case,
    cast,
    distinct,
    func,
    literal,
    literal_column,
    null,
    or_,
    select,
    union_all,
)
from sqlalchemy.orm import Session

from app.deadlines import due_date, last_start_overdue, today, working_days_between
from app.formatting import LOCAL_TZ, local
from app.models import Proposal
from app.models.stages import Advance, BudgetEnvelope, Funding
from app.reports.stays import ProposalStay
from app.scoping import scope_clause
from workflow.errors import InvalidInput
from workflow.registry import default_registry

MIN_YEAR, MAX_YEAR = 2000, 2100
FILTER_KEYS = ("year", "year_from", "year_to", "unit", "category", "fund", "state")
OVERDUE_LIST = 20
# "Carried out" (thực hiện): reached implementation and not terminated, i.e. in one of these states.
CARRIED_OUT_STATES = ("implementing", "implemented", "settled", "evaluated")
# The lifecycle funnel: proposals whose trail ever entered one of the stage's states.
FUNNEL: tuple[tuple[str, tuple[str, str], tuple[str, ...]], ...] = (
    ("created", ("Lập hồ sơ", "Created"), ("draft",)),
    ("submitted", ("Đã nộp", "Submitted"), ("district_review", "local_review")),
    ("appraisal", ("Tỉnh thẩm định", "Provincial appraisal"), ("provincial_appraisal",)),
    ("shortlisted", ("Đạt thẩm định", "Passed appraisal"), ("shortlisted",)),
    ("funded", ("Được giao kinh phí", "Funded"), ("funded",)),
    ("implementing", ("Thực hiện", "Implementing"), ("implementing",)),
    ("implemented", ("Nghiệm thu", "Accepted"), ("implemented",)),
    ("settled", ("Thanh quyết toán", "Settled"), ("settled",)),
    ("evaluated", ("Đánh giá", "Evaluated"), ("evaluated",)),
)
GROUP_KEYS = ("state", "district", "commune", "category", "fund", "year")


def fund_key() -> Any:
    """The proposal's fund (local/national). Issue 10 adds ``Proposal.fund``; until then every proposal is
    funded locally. The one place that knows: a CAST keeps the constant groupable on PostgreSQL."""
    column = getattr(Proposal, "fund", None)
    return column if column is not None else cast(literal_column("'local'"), String(16))


def _group_column(key: str) -> Any:
    return {"state": Proposal.wf_state, "district": Proposal.district_code, "commune": Proposal.commune_code,
            "category": Proposal.category, "fund": fund_key(), "year": Proposal.year}[key]


@dataclass(frozen=True)
class Filters:
    year_from: int | None = None
    year_to: int | None = None
    unit: str | None = None
    category: str | None = None
    fund: str | None = None
    state: str | None = None

    def query_args(self) -> dict[str, Any]:
        """The filters as query-string arguments (for links and exports)."""
        return {k: v for k, v in vars(self).items() if v is not None}


def _year(name: str, raw: str, errors: dict[str, dict[str, str]]) -> int | None:
    if not raw.strip().isdigit() or not MIN_YEAR <= int(raw) <= MAX_YEAR:
        errors[name] = {"vi": f"Năm phải là số từ {MIN_YEAR} đến {MAX_YEAR}",
                        "en": f"The year must be a number from {MIN_YEAR} to {MAX_YEAR}"}
        return None
    return int(raw)


def parse_filters(args: Mapping[str, str], extra: tuple[str, ...] = ()) -> Filters:
    """Filters from a query string; unknown keys, unknown values and out-of-range years raise InvalidInput
    (a 422 in the API, a message on the pages). ``extra`` names keys the caller reads itself (page, sort)."""
    errors: dict[str, dict[str, str]] = {}
    for key in args:
        if key not in FILTER_KEYS and key not in extra:
            errors[key] = {"vi": f"Bộ lọc không hợp lệ: {key}", "en": f"Unknown filter: {key}"}
    values = {k: v for k, v in args.items() if k in FILTER_KEYS and v != ""}
    years = {k: _year(k, values[k], errors) for k in ("year", "year_from", "year_to") if k in values}
    year_from = years.get("year_from") or years.get("year")
    year_to = years.get("year_to") or years.get("year")
    if year_from and year_to and year_from > year_to:
        errors["year_to"] = {"vi": "Năm kết thúc phải không nhỏ hơn năm bắt đầu",
                             "en": "The end year must not be before the start year"}
    from app.models.proposals import CATEGORIES

    if "category" in values and values["category"] not in CATEGORIES:
        errors["category"] = {"vi": "Lĩnh vực không hợp lệ", "en": "Unknown category"}
    states = {s for compiled in default_registry() for s in compiled.states}
    if "state" in values and values["state"] not in states:
        errors["state"] = {"vi": "Trạng thái không hợp lệ", "en": "Unknown state"}
    if "unit" in values and (len(values["unit"]) > 16 or not values["unit"].isalnum()):
        errors["unit"] = {"vi": "Mã đơn vị không hợp lệ", "en": "Invalid unit code"}
    if "fund" in values and values["fund"] not in ("local", "national"):
        errors["fund"] = {"vi": "Nguồn kinh phí phải là local hoặc national",
                          "en": "The fund must be local or national"}
    if errors:
        raise InvalidInput(errors)
    return Filters(year_from=year_from, year_to=year_to, unit=values.get("unit"),
                   category=values.get("category"), fund=values.get("fund"), state=values.get("state"))


def matching(filters: Filters, *, year: Any, district: Any, commune: Any, category: Any, fund: Any,
             state: Any) -> list[Any]:
    """The filters' conditions over these columns: the proposal's, or a report table's that carries them."""
    conditions = []
    if filters.year_from is not None:
        conditions.append(year >= filters.year_from)
    if filters.year_to is not None:
        conditions.append(year <= filters.year_to)
    if filters.unit:
        conditions.append(or_(district == filters.unit, commune == filters.unit))
    for column, value in ((category, filters.category), (fund, filters.fund), (state, filters.state)):
        if value:
            conditions.append(column == value)
    return conditions


def where(user: Any, filters: Filters) -> Any:
    """The proposals this actor may see that match the filters, as one WHERE clause."""
    return and_(scope_clause(user), *matching(
        filters, year=Proposal.year, district=Proposal.district_code, commune=Proposal.commune_code,
        category=Proposal.category, fund=fund_key(), state=Proposal.wf_state))


# --- counts ---------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Count:
    key: Any  # a state, unit or category code, a year (int), or None
    count: int
    requested: int
    approved: int


@dataclass(frozen=True)
class Totals:
    count: int
    requested: int
    approved: int
    counterpart: int


@dataclass(frozen=True)
class CarriedOut:
    projects: int
    units: int
    machinery: int
    approved: int


Breakdown = tuple[Totals, dict[str, list[Count]], CarriedOut]


def breakdown(session: Session, cond: Any) -> Breakdown:
    """Totals, the counts per value of each of GROUP_KEYS and the projects carried out (implementing or
    later, not terminated, with the district-level units they span), in one statement: the scoped proposals
    joined to their funding once (a materialized CTE), then one GROUP BY per breakdown over it."""
    base = (select(*(_group_column(k).label(k) for k in GROUP_KEYS),
                   Proposal.requested_support.label("requested"), Proposal.counterpart_funds.label("counterpart"),
                   func.coalesce(Funding.approved_amount, 0).label("approved"))
            .select_from(Proposal).outerjoin(Funding, Funding.proposal_id == Proposal.id).where(cond)
            .cte("scoped").prefix_with("MATERIALIZED"))
    return breakdown_over(session, base, literal(1))


def breakdown_over(session: Session, base: Any, weight: Any) -> Breakdown:
    """The breakdown over ``base`` (columns GROUP_KEYS, requested, counterpart, approved), whose rows stand for
    ``weight`` proposals each: 1 for a row per proposal, the cell's ``n`` over the cube (app.reports.cube)."""
    zero = literal(0)
    sums = (func.coalesce(func.sum(weight), 0), func.coalesce(func.sum(base.c.requested), 0),
            func.coalesce(func.sum(base.c.approved), 0), func.coalesce(func.sum(base.c.counterpart), 0))
    parts = [select(literal(k).label("kind"), cast(base.c[k], String).label("key"), *sums, zero, zero)
             .group_by(base.c[k]) for k in GROUP_KEYS]
    parts.append(select(literal("total"), null(), *sums, zero, zero))
    parts.append(select(literal("carried"), null(), *sums, func.count(distinct(base.c.district)),
                        func.coalesce(func.sum(case((base.c.category == "machinery", weight), else_=0)), 0))
                 .where(base.c.state.in_(CARRIED_OUT_STATES)))
    counts: dict[str, list[Count]] = {k: [] for k in GROUP_KEYS}
    totals = carried = None
    for kind, key, n, requested, approved, counterpart, units, machinery in session.execute(union_all(*parts)):
        if kind == "total":
            totals = Totals(int(n), int(requested), int(approved), int(counterpart))
        elif kind == "carried":
            carried = CarriedOut(int(n), units, int(machinery), int(approved))
        else:
            counts[kind].append(Count(int(key) if kind == "year" and key is not None else key, int(n),
                                      int(requested), int(approved)))
    for rows in counts.values():
        rows.sort(key=lambda c: (c.key is None, c.key))
    assert totals is not None and carried is not None  # aggregates without GROUP BY always give a row
    return totals, counts, carried


# --- budget -----------------------------------------------------------------------------------------------------

BUDGET_TITLES: dict[str, tuple[str, str]] = {
    "allocated": ("Dự toán giao", "Allocated"), "approved": ("Đã duyệt", "Approved"),
    "advanced": ("Đã tạm ứng", "Advanced"), "disbursed": ("Đã cấp", "Disbursed"),
    "settled": ("Đã quyết toán", "Settled"), "refunded": ("Hoàn trả", "Refunded"),
    "counterpart": ("Vốn đối ứng", "Counterpart"),
}
BUDGET_COLUMNS = tuple(BUDGET_TITLES)


@dataclass(frozen=True)
class BudgetRow:
    envelope_id: int
    fund: str
    year: int
    projects: int
    allocated: int
    approved: int
    advanced: int
    disbursed: int
    settled: int
    refunded: int
    counterpart: int


def budget(session: Session, cond: Any, filters: Filters) -> list[BudgetRow]:
    """Money per envelope, over the funded proposals matching ``cond``; envelopes of the filtered years are
    listed even when none of those proposals drew on them."""
    advanced = (select(Advance.proposal_id, func.sum(Advance.amount).label("amount"))
                .group_by(Advance.proposal_id).subquery())
    paid = func.coalesce(advanced.c.amount, 0)
    per_envelope = (
        select(Funding.envelope_id.label("envelope_id"),
               func.count(Funding.id).label("projects"),
               func.sum(Funding.approved_amount).label("approved"),
               func.sum(paid).label("advanced"),
               func.sum(func.coalesce(Funding.disbursed_total, paid)).label("disbursed"),
               func.sum(func.coalesce(Funding.disbursed_total, 0)).label("settled"),
               func.sum(func.coalesce(Funding.refund_amount, 0)).label("refunded"),
               func.sum(Proposal.counterpart_funds).label("counterpart"))
        .select_from(Funding).join(Proposal, Proposal.id == Funding.proposal_id)
        .outerjoin(advanced, advanced.c.proposal_id == Funding.proposal_id)
        .where(cond).group_by(Funding.envelope_id).subquery())
    stmt = (select(BudgetEnvelope.id, BudgetEnvelope.fund, BudgetEnvelope.year, BudgetEnvelope.amount,
                   *(func.coalesce(per_envelope.c[name], 0) for name in
                     ("projects", "approved", "advanced", "disbursed", "settled", "refunded", "counterpart")))
            .outerjoin(per_envelope, per_envelope.c.envelope_id == BudgetEnvelope.id)
            .where(or_(per_envelope.c.envelope_id.is_not(None),
                       and_(BudgetEnvelope.year >= (filters.year_from or MIN_YEAR),
                            BudgetEnvelope.year <= (filters.year_to or MAX_YEAR))))
            .order_by(BudgetEnvelope.year, BudgetEnvelope.fund))
    rows = [BudgetRow(i, f, y, int(n), int(a), *(int(v) for v in rest))
            for i, f, y, a, n, *rest in session.execute(stmt)]
    return rows


def budget_total(rows: list[BudgetRow]) -> dict[str, int]:
    return {name: sum(getattr(r, name) for r in rows) for name in ("projects", *BUDGET_COLUMNS)}


# --- overdue and durations --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class OverdueItem:
    proposal_id: int
    code: str
    title: str
    state: str
    entered: dt.date
    due: dt.date
    age_working_days: int
    late_working_days: int


@dataclass
class Overdue:
    by_state: dict[str, int] = field(default_factory=dict)
    oldest: list[OverdueItem] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(self.by_state.values())


def _local_midnight_utc(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), LOCAL_TZ).astimezone(dt.UTC)


def overdue(session: Session, cond: Any, on: dt.date | None = None) -> Overdue:
    """Proposals past their state's deadline on ``on`` (today): counts per state, and the oldest ones with
    their working-day ages. A state's deadline becomes an entered-before instant, so SQL does the filtering:
    one range of ix_proposal_state_work (state, entered_at, id, workflow, version, scope) per late part, ORed
    for the counts; the oldest are the first few of each part in index order, merged (one walk of every
    proposal by entry time, filtered, would pass all the finished ones first)."""
    on = on or today()
    late = []
    for compiled in default_registry():
        for name, state in compiled.states.items():
            last = last_start_overdue(state.deadline, on)
            if last is not None:
                late.append(and_(Proposal.wf_workflow == compiled.workflow,
                                 Proposal.wf_workflow_version == compiled.version, Proposal.wf_state == name,
                                 Proposal.wf_entered_at < _local_midnight_utc(last + dt.timedelta(days=1))))
    result = Overdue()
    if not late:
        return result
    stmt = select(Proposal.wf_state, func.count()).where(cond, or_(*late)).group_by(Proposal.wf_state)
    result.by_state = {name: n for name, n in session.execute(stmt)}
    columns = (Proposal.id, Proposal.code, Proposal.title, Proposal.wf_state, Proposal.wf_entered_at,
               Proposal.wf_workflow, Proposal.wf_workflow_version)
    firsts = [select(*columns).where(cond, part).order_by(Proposal.wf_entered_at, Proposal.id)
              .limit(OVERDUE_LIST).subquery() for part in late]
    merged = union_all(*(select(*first.c) for first in firsts)).subquery()
    oldest = session.execute(select(*merged.c).order_by(merged.c.wf_entered_at, merged.c.id).limit(OVERDUE_LIST))
    registry = default_registry()
    for pid, code, title, in_state, entered_at, workflow, version in oldest:
        due = due_date(entered_at, registry.get(workflow, version).states[in_state].deadline)
        assert due is not None
        entered = local(entered_at).date()
        result.oldest.append(OverdueItem(pid, code, title, in_state, entered, due,
                                         working_days_between(entered, on), working_days_between(due, on)))
    return result


Scoped = Callable[[Any], Any]  # adds the scope and filters (and any join they need) to a statement over stays


def median_durations(session: Session, cond: Any) -> dict[str, tuple[float, int]]:
    """state -> (median calendar days spent in it, number of stays), over the finished stays
    (``proposal_stay``: from the event that entered the state to the proposal's next state change)."""
    return medians_over(session, ProposalStay.state, ProposalStay.days,
                        lambda stmt: stmt.join(Proposal, Proposal.id == ProposalStay.proposal_id).where(cond))


def medians_over(session: Session, state: Any, days: Any, scoped: Scoped) -> dict[str, tuple[float, int]]:
    """:func:`median_durations` over stays with columns ``state`` and ``days`` (``proposal_stay`` joined to
    the proposals; app.reports.cube reads its own tables)."""
    finished = days.is_not(None)
    if session.get_bind().dialect.name == "postgresql":
        stmt = scoped(select(state, func.percentile_cont(0.5).within_group(days), func.count())
                      .where(finished).group_by(state))
        return {name: (round(float(median), 1), int(n)) for name, median, n in session.execute(stmt)}
    # no percentile function: per state, read (state, days) in index order up to the middle row(s)
    out = {}
    for name, n in session.execute(scoped(select(state, func.count()).where(finished).group_by(state))).all():
        middle = session.scalars(scoped(select(days).where(finished, state == name).order_by(days)
                                        .offset((n - 1) // 2).limit(2 - n % 2))).all()
        out[name] = (round(middle_value([float(v) for v in middle]), 1), int(n))
    return out


def middle_value(middle: list[float]) -> float:
    """The median from the one or two middle values (ascending) as ``percentile_cont(0.5)`` interpolates them
    (PostgreSQL's float8_lerp: lo + 0.5 * (hi - lo)), so both databases and every reader give the same float."""
    lo, hi = middle[0], middle[-1]
    return lo + 0.5 * (hi - lo)


def funnel(session: Session, cond: Any, between: tuple[dt.date, dt.date] | None = None,
           ) -> list[tuple[str, tuple[str, str], int]]:
    """(key, title, proposals that entered the stage) along the lifecycle, in order; ``between`` (first day,
    day after the last, local dates) counts only entries in that period."""
    return funnel_over(session, (ProposalStay.state, ProposalStay.proposal_id, ProposalStay.entered_at), between,
                       lambda stmt: stmt.join(Proposal, Proposal.id == ProposalStay.proposal_id).where(cond))


def funnel_over(session: Session, stays: tuple[Any, Any, Any], between: tuple[dt.date, dt.date] | None,
                scoped: Scoped) -> list[tuple[str, tuple[str, str], int]]:
    """:func:`funnel` over stays with columns ``stays`` = (state, proposal_id, entered_at), as
    :func:`medians_over`."""
    state, proposal_id, entered_at = stays
    stage_of = {name: key for key, _, names in FUNNEL for name in names}
    stage = case(stage_of, value=state).label("stage")
    stmt = scoped(select(stage, func.count(distinct(proposal_id))).group_by(stage))  # others fall in NULL
    if between is not None:
        stmt = stmt.where(entered_at >= _local_midnight_utc(between[0]),
                          entered_at < _local_midnight_utc(between[1]))
    reached: dict[str, int] = {key: n for key, n in session.execute(stmt)}
    return [(key, title, reached.get(key, 0)) for key, title, _ in FUNNEL]


# --- everything the dashboard shows -----------------------------------------------------------------------------

@dataclass
class Dashboard:
    filters: Filters
    totals: Totals
    counts: dict[str, list[Count]]
    budget: list[BudgetRow]
    budget_total: dict[str, int]
    overdue: Overdue
    durations: dict[str, tuple[float, int]]
    funnel: list[tuple[str, tuple[str, str], int]]
    carried_out: CarriedOut


def dashboard(session: Session, user: Any, filters: Filters, on: dt.date | None = None) -> Dashboard:
    from app.reports import cube  # it builds on this module's breakdown_over

    cond = where(user, filters)
    rows = budget(session, cond, filters)
    totals, counts, carried = cube.breakdown(session, user, filters)
    return Dashboard(filters=filters, totals=totals, counts=counts,
                     budget=rows, budget_total=budget_total(rows), overdue=overdue(session, cond, on),
                     durations=cube.median_durations(session, user, filters),
                     funnel=cube.funnel(session, user, filters), carried_out=carried)
