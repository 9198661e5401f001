"""The reports API: the dashboard's aggregates and the statutory reports as JSON under /api/v1/reports/…

The query models below document the parameters for OpenAPI; the checks themselves are
``queries.parse_filters`` and ``statutory.build`` (one home), whose InvalidInput is the API's 422.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict
from typing import Any

from flask import jsonify, request
from flask_login import current_user
from pydantic import BaseModel, ConfigDict, Field

from app.access import requires
from app.api.routes import Routes
from app.api.spec import documented
from app.common.web import state_titles
from app.extensions import db_session
from app.models.units import unit_names
from app.reports import queries, statutory
from app.reports.queries import MAX_YEAR, MIN_YEAR

routes = Routes()
Year = Field(default=None, ge=MIN_YEAR, le=MAX_YEAR)


class DashboardQuery(BaseModel):
    """Filters of the aggregates; unknown parameters are refused (422)."""

    model_config = ConfigDict(extra="forbid")
    year: int = Year  # type: ignore[assignment]
    year_from: int = Year  # type: ignore[assignment]
    year_to: int = Year  # type: ignore[assignment]
    unit: str = Field(default=None, max_length=16, pattern=r"^[A-Za-z0-9]+$",  # type: ignore[assignment]
                      description="A district or commune code")
    category: str = Field(default=None, max_length=32)  # type: ignore[assignment]
    fund: str = Field(default=None, pattern="^(local|national)$")  # type: ignore[assignment]
    state: str = Field(default=None, max_length=64)  # type: ignore[assignment]


class ReportQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    year: int = Year  # type: ignore[assignment]
    quarter: int = Field(default=None, ge=1, le=4)  # type: ignore[assignment]
    half: int = Field(default=None, ge=1, le=2)  # type: ignore[assignment]
    period: str = Field(default=None, pattern="^(2016-2020|2021-2025)$")  # type: ignore[assignment]
    unit: str = Field(default=None, max_length=16, pattern=r"^[A-Za-z0-9]+$")  # type: ignore[assignment]
    category: str = Field(default=None, max_length=32)  # type: ignore[assignment]
    fund: str = Field(default=None, pattern="^(local|national)$")  # type: ignore[assignment]


class CountOut(BaseModel):
    key: str | int | None
    count: int
    requested: int
    approved: int


class TotalsOut(BaseModel):
    count: int
    requested: int
    approved: int
    counterpart: int


class BudgetOut(BaseModel):
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


class OverdueItemOut(BaseModel):
    proposal_id: int
    code: str
    title: str
    state: str
    entered: dt.date
    due: dt.date
    age_working_days: int
    late_working_days: int


class OverdueOut(BaseModel):
    total: int
    by_state: dict[str, int]
    oldest: list[OverdueItemOut]


class DurationOut(BaseModel):
    state: str
    median_days: float
    stays: int


class StageOut(BaseModel):
    stage: str
    title: str
    proposals: int


class CarriedOutOut(BaseModel):
    projects: int
    units: int
    machinery: int
    approved: int


class DashboardOut(BaseModel):
    totals: TotalsOut
    counts: dict[str, list[CountOut]]
    budget: list[BudgetOut]
    budget_total: dict[str, int]
    overdue: OverdueOut
    median_durations: list[DurationOut]
    funnel: list[StageOut]
    carried_out: CarriedOutOut


class TableOut(BaseModel):
    key: str
    title: str
    headers: list[str]
    rows: list[list[str | int]]
    total: list[str | int] | None


class ReportOut(BaseModel):
    kind: str
    title: str
    recipient: str
    period: str
    start: dt.date
    end: dt.date
    tables: list[TableOut]


def _lang() -> int:
    from app.api.errors import api_lang

    return 0 if api_lang() == "vi" else 1


@routes.get("/reports/dashboard")
@documented("The dashboard's aggregates in the caller's scope", query=DashboardQuery, response=DashboardOut,
            errors=(401, 403, 422))
@requires("reports")
def report_dashboard() -> Any:
    filters = queries.parse_filters(request.args.to_dict())
    d = queries.dashboard(db_session(), current_user, filters)
    i = _lang()
    out = DashboardOut(
        totals=TotalsOut(**asdict(d.totals)),
        counts={k: [CountOut(**asdict(c)) for c in rows] for k, rows in d.counts.items()},
        budget=[BudgetOut(**asdict(r)) for r in d.budget], budget_total=d.budget_total,
        overdue=OverdueOut(total=d.overdue.total, by_state=d.overdue.by_state,
                           oldest=[OverdueItemOut(**asdict(o)) for o in d.overdue.oldest]),
        median_durations=[DurationOut(state=s, median_days=days, stays=n) for s, (days, n) in d.durations.items()],
        funnel=[StageOut(stage=k, title=t[i], proposals=n) for k, t, n in d.funnel],
        carried_out=CarriedOutOut(**asdict(d.carried_out)))
    return jsonify(out.model_dump(mode="json"))


@routes.get("/reports/<any(quarterly, semiannual, annual, budget, period):kind>")
@documented("A statutory report (the same figures as the XLSX and printable versions)", query=ReportQuery,
            response=ReportOut, errors=(401, 403, 404, 422))
@requires("reports")
def report_statutory(kind: str) -> Any:
    session = db_session()
    built = statutory.build(session, current_user, kind, request.args.to_dict(), unit_names(session),
                            state_titles())
    i = _lang()
    out = ReportOut(kind=kind, title=built.title[i], recipient=built.recipient[i], period=built.period_label,
                    start=built.start, end=built.end,
                    tables=[TableOut(key=t.key, title=t.title[i], headers=[h[i] for h in t.headers], rows=t.rows,
                                     total=t.total) for t in built.tables])
    return jsonify(out.model_dump(mode="json"))
