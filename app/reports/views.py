"""Reports and dashboards: /dashboard, the statutory reports (/reports/...) as printable HTML and XLSX.

Routes are thin: parse the filters (a message and 422 when they are wrong), run app.reports.queries scoped
to the actor, render. Nothing here writes; auditors read everything. The JSON API is in app.reports.api.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, render_template, request
from flask_login import current_user
from sqlalchemy import func, select

from app.access import PERMISSIONS, requires
from app.common.web import state_titles
from app.extensions import db_session
from app.i18n import tr
from app.models import Proposal, Unit
from app.models.proposals import CATEGORIES
from app.models.stages import Advance
from app.models.units import unit_names
from app.reports import charts, documents, exports, queries, statutory
from workflow.errors import InvalidInput

bp = Blueprint("reports", __name__, template_folder="templates")


@bp.app_context_processor
def _menu() -> dict[str, Any]:
    """``reports_nav()`` in base.html: whether the menu shows the dashboard to this user."""
    return {"reports_nav": lambda: current_user.is_authenticated and PERMISSIONS["reports"](current_user)}


def _errors(exc: InvalidInput) -> list[str]:
    return [f"{name}: {tr(message)}" for name, message in exc.errors.items()]


def _districts() -> list[tuple[str, str]]:
    return [(c, n) for c, n in db_session().execute(
        select(Unit.code, Unit.name).where(Unit.level == "district").order_by(Unit.code))]


def dashboard_charts(d: queries.Dashboard, names: dict[str, str], states: dict[str, str]) -> dict[str, Any]:
    """Each chart with the rows of its table: (label, value) pairs."""
    money = d.budget_total
    rows = {
        "state": [(states.get(c.key, c.key), c.count) for c in d.counts["state"]],
        "district": [(names.get(c.key or "", c.key or "—"), c.count) for c in d.counts["district"]],
        "category": [(tr(CATEGORIES.get(c.key, (c.key, c.key))), c.count) for c in d.counts["category"]],
        "year": [(str(c.key), c.count) for c in d.counts["year"]],
        "fund": [(str(c.key), c.count) for c in d.counts["fund"]],
        "budget": [(tr(queries.BUDGET_TITLES[c]), money[c]) for c in queries.BUDGET_COLUMNS],
        "funnel": [(tr(title), n) for _, title, n in d.funnel],
    }
    titles = {"state": ("Số đề án theo trạng thái", "Proposals by state"),
              "district": ("Số đề án theo đơn vị (cấp huyện cũ)", "Proposals by former district"),
              "category": ("Số đề án theo nội dung", "Proposals by activity"),
              "year": ("Số đề án theo năm", "Proposals by year"),
              "fund": ("Số đề án theo nguồn kinh phí", "Proposals by fund"),
              "budget": ("Kinh phí (đồng)", "Budget (VND)"),
              "funnel": ("Phễu vòng đời đề án", "Lifecycle funnel")}
    out = {}
    for key, items in rows.items():
        title = tr(titles[key])
        svg = (charts.funnel_chart(f"chart-{key}", title, items) if key == "funnel" else
               charts.bar_chart(f"chart-{key}", title, items, fmt=_vnd if key == "budget" else charts.plain))
        out[key] = {"title": title, "svg": svg, "rows": items, "money": key == "budget"}
    return out


def _vnd(value: int | float) -> str:
    from app.formatting import vnd

    return vnd(int(value))


@bp.route("/dashboard")
@requires("reports")
def dashboard() -> Any:
    session = db_session()
    args = request.args.to_dict()
    try:
        filters = queries.parse_filters(args)
    except InvalidInput as exc:
        return render_template("reports/dashboard.html", errors=_errors(exc), args=args, d=None,
                               districts=_districts(), states=state_titles()), 422
    d = queries.dashboard(session, current_user, filters)
    names, states = unit_names(session), state_titles()
    return render_template("reports/dashboard.html", errors=[], args=args, d=d, names=names, states=states,
                           budget_columns=queries.BUDGET_COLUMNS, budget_titles=queries.BUDGET_TITLES,
                           charts=dashboard_charts(d, names, states), districts=_districts())


@bp.route("/reports")
@requires("reports")
def index() -> Any:
    return render_template("reports/index.html", kinds=statutory.KINDS, periods=statutory.PERIODS,
                           districts=_districts())


@bp.route("/reports/<kind>")
@requires("reports")
def report(kind: str) -> Any:
    session = db_session()
    names = unit_names(session)
    args = request.args.to_dict()
    try:
        built = statutory.build(session, current_user, kind, args, names, state_titles())
    except InvalidInput as exc:
        return render_template("reports/index.html", kinds=statutory.KINDS, periods=statutory.PERIODS,
                               districts=_districts(), errors=_errors(exc), args=args), 422
    province = session.scalar(select(Unit.name).where(Unit.level == "province").order_by(Unit.code)) or ""
    if args.get("format") == "xlsx":
        name = f"bao-cao-{kind}-{built.start:%Y%m%d}-{built.end:%Y%m%d}.xlsx"
        return Response(statutory.xlsx(built, province), mimetype=exports.XLSX,
                        headers={"Content-Disposition": f'attachment; filename="{name}"'})
    return render_template("reports/report.html", report=built, province=province, legal=statutory.LEGAL_BASIS,
                           xlsx_args={**args, "format": "xlsx"})


EXPORTS = {"csv": exports.csv_response, "xlsx": exports.xlsx_response}


@bp.route("/proposals/export.<any(csv, xlsx):fmt>")
@requires("logged_in")
def export_proposals(fmt: str) -> Any:
    """The proposal list as filtered on its page (same filters, same scope), with totals."""
    from app.proposals.search import filtered

    headers, summed, rows = exports.proposal_rows(db_session(), filtered(request.args))
    return EXPORTS[fmt]("de-an", headers, summed, rows)


@bp.route("/reports/funding.<any(csv, xlsx):fmt>")
@requires("reports")
def export_funding(fmt: str) -> Any:
    """Funding decisions, advances and settlements of the filtered proposals in scope, with totals."""
    try:
        filters = queries.parse_filters(request.args.to_dict())
    except InvalidInput as exc:
        return render_template("reports/index.html", kinds=statutory.KINDS, periods=statutory.PERIODS,
                               districts=_districts(), errors=_errors(exc), args={}), 422
    stmt = select(Proposal).where(queries.where(current_user, filters))
    headers, summed, rows = exports.funding_rows(db_session(), stmt)
    return EXPORTS[fmt]("kinh-phi", headers, summed, rows)


# Per-proposal documents, printable: (title, the funding facts each needs before it can be drawn up).
DOCUMENTS: dict[str, tuple[tuple[str, str], tuple[str, ...]]] = {
    "funding-decision": (("Quyết định giao kinh phí khuyến công", "Funding decision"), ("decision_number",)),
    "contract": (("Hợp đồng thực hiện đề án khuyến công", "Contract"), ("contract_number",)),
    "acceptance": (("Biên bản nghiệm thu đề án khuyến công", "Acceptance record"), ("contract_number",)),
    "settlement": (("Biên bản thanh lý hợp đồng và quyết toán kinh phí", "Liquidation and settlement"),
                   ("disbursed_total",)),
}


DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
_KINDS = "any('funding-decision', contract, acceptance, settlement)"


@bp.route(f"/proposals/<int:pid>/documents/<{_KINDS}:kind>")
@bp.route(f"/proposals/<int:pid>/documents/<{_KINDS}:kind>.<any(docx):fmt>")
@requires("logged_in")
def document(pid: int, kind: str, fmt: str = "html") -> Any:
    """A document ready to print (HTML) or to edit and sign (DOCX), filled with what the system holds (404
    out of scope; 409 while the system does not hold what it needs)."""
    from app.models.stages import Funding
    from app.scoping import load_proposal

    session = db_session()
    proposal = load_proposal(session, current_user, pid)
    funding = session.scalar(select(Funding).where(Funding.proposal_id == proposal.id))
    title, needs = DOCUMENTS[kind]
    missing = funding is None or any(getattr(funding, name) is None for name in needs)
    advanced = session.scalar(select(func.coalesce(func.sum(Advance.amount), 0))
                              .where(Advance.proposal_id == proposal.id)) or 0
    province = session.scalar(select(Unit.name).where(Unit.code == proposal.province_code)) or ""
    if fmt == "docx" and not missing:
        names = unit_names(session, [proposal.commune_code, proposal.district_code])
        fields = documents.context(kind, proposal, funding, advanced, province,
                                   lambda code: names.get(code or "", code or ""))
        return Response(documents.render(kind, fields), mimetype=DOCX, headers={
            "Content-Disposition": f'attachment; filename="{kind}-{proposal.code}.docx"'})
    return render_template("reports/document.html", kind=kind, title=title, proposal=proposal, funding=funding,
                           missing=missing, advanced=advanced, province=province,
                           states=state_titles()), 409 if missing else 200



@bp.cli.command("check-cube")
def check_cube() -> None:
    """``flask reports check-cube``: recompute the report cube, the stays' dimensions and their day counts from
    the base tables and list what disagrees (exit status 1), e.g. after restoring a backup or a manual repair."""
    import click
    from flask import current_app

    from app.reports import cube

    with current_app.extensions["db_sessionmaker"]() as session:
        cells, stays = cube.differences(session), cube.stay_differences(session)
        buckets = cube.bucket_differences(session)
    for d in cells:
        click.echo(f"cell {d.cell}: expected {d.expected}, found {d.found}")
    if stays:
        click.echo(f"{len(stays)} stays disagree with report_stay_days, e.g. {stays[:10]}")
    for b in buckets:
        click.echo(f"stay bucket {b.key}: expected {b.expected}, found {b.found}")
    if cells or stays or buckets:
        raise SystemExit(1)
    click.echo("The report cube agrees with the base tables.")
