"""The statutory reports, as tables built from the dashboard's queries, rendered as printable HTML or XLSX.

- quarterly: to the Ministry of Industry and Trade (Cục Công nghiệp địa phương), every three months;
- semiannual, annual: to the provincial People's Committee;
- budget: budget execution per envelope for a year;
- period: a programme-period summary (2016–2020, 2021–2025);
- plan: a round's plan list (danh mục kế hoạch): its appraised proposals ranked for allocation, grouped by
  activity, with subtotals — the very list the round page shows and compile_plan totals (app.rounds.services).
Duties from Decree 45/2012/NĐ-CP art. 16 and Joint Circular 26/2014 art. 9 (as cited in issue 11); the
official form numbers of these reports are not in our sources, so the layout carries none (unconfirmed).
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font
from sqlalchemy.orm import Session

from app import clock
from app.models.proposals import CATEGORIES
from app.reports import cube, queries
from app.reports.queries import MAX_YEAR, MIN_YEAR, Filters
from workflow.errors import InvalidInput

Text = tuple[str, str]  # (vi, en)

KINDS: dict[str, tuple[Text, Text]] = {  # kind -> (title, recipient)
    "quarterly": (("Báo cáo quý tình hình thực hiện hoạt động khuyến công", "Quarterly industrial promotion report"),
                  ("Bộ Công Thương (Cục Công nghiệp địa phương)", "Ministry of Industry and Trade")),
    "semiannual": (("Báo cáo 6 tháng tình hình thực hiện hoạt động khuyến công", "Six-month report"),
                   ("Ủy ban nhân dân tỉnh", "Provincial People's Committee")),
    "annual": (("Báo cáo tổng kết năm hoạt động khuyến công", "Annual report"),
               ("Ủy ban nhân dân tỉnh", "Provincial People's Committee")),
    "budget": (("Báo cáo tình hình thực hiện kinh phí khuyến công", "Budget execution report"),
               ("Sở Công Thương, Sở Tài chính", "Department of Industry and Trade, Department of Finance")),
    "period": (("Báo cáo tổng kết chương trình khuyến công giai đoạn", "Programme-period summary"),
               ("Ủy ban nhân dân tỉnh", "Provincial People's Committee")),
    "plan": (("Danh mục kế hoạch khuyến công", "Plan list"),
             ("Ủy ban nhân dân tỉnh", "Provincial People's Committee")),
}
PERIODS = {"2016-2020": (2016, 2020), "2021-2025": (2021, 2025)}
LEGAL_BASIS = ("Căn cứ Nghị định số 45/2012/NĐ-CP (Điều 16) và Thông tư liên tịch số 26/2014 (Điều 9) "
               "về chế độ báo cáo hoạt động khuyến công.")
MONEY = ("requested", "approved")
PARAMS = ("kind", "year", "quarter", "half", "period", "unit", "category", "fund", "format")


@dataclass
class Table:
    key: str
    title: Text
    headers: list[Text]
    rows: list[list[Any]]
    total: list[Any] | None = None
    money_from: int = 99  # columns from this index on hold VND


@dataclass
class Report:
    kind: str
    title: Text
    recipient: Text
    period_label: str
    start: dt.date
    end: dt.date
    filters: Filters
    tables: list[Table] = field(default_factory=list)
    dashboard: queries.Dashboard | None = None


def _invalid(name: str, vi: str, en: str) -> InvalidInput:
    return InvalidInput({name: {"vi": vi, "en": en}})


def _int(args: Mapping[str, str], name: str, low: int, high: int, default: int | None = None) -> int:
    raw = args.get(name, "")
    if raw == "" and default is not None:
        return default
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise _invalid(name, f"{name} phải là số từ {low} đến {high}", f"{name} must be a number from {low} to {high}")
    return int(raw)


def period_of(kind: str, args: Mapping[str, str], this_year: int) -> tuple[int, int, dt.date, dt.date, str]:
    """(first plan year, last plan year, first day, last day, label) of the report's period."""
    if kind == "period":
        name = args.get("period", "2016-2020")
        if name not in PERIODS:
            raise _invalid("period", "Giai đoạn phải là 2016-2020 hoặc 2021-2025",
                           "The period must be 2016-2020 or 2021-2025")
        first, last = PERIODS[name]
        return first, last, dt.date(first, 1, 1), dt.date(last, 12, 31), f"giai đoạn {first}–{last}"
    year = _int(args, "year", MIN_YEAR, MAX_YEAR, this_year)
    if kind == "quarterly":
        q = _int(args, "quarter", 1, 4, 1)
        end = dt.date(year, 3 * q, 1)
        end = (end.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - dt.timedelta(days=1)
        return year, year, dt.date(year, 3 * q - 2, 1), end, f"quý {q} năm {year}"
    if kind == "semiannual":
        h = _int(args, "half", 1, 2, 1)
        return (year, year, dt.date(year, 1 if h == 1 else 7, 1), dt.date(year, 6, 30) if h == 1
                else dt.date(year, 12, 31), f"6 tháng {'đầu' if h == 1 else 'cuối'} năm {year}")
    return year, year, dt.date(year, 1, 1), dt.date(year, 12, 31), f"năm {year}"


def _count_table(key: str, title: Text, first: Text, rows: list[queries.Count],
                 label: Any) -> Table:
    body = [[label(c.key), c.count, c.requested, c.approved] for c in rows]
    total = ["Tổng cộng", sum(c.count for c in rows), sum(c.requested for c in rows),
             sum(c.approved for c in rows)]
    return Table(key, title, [first, ("Số đề án", "Proposals"), ("Kinh phí đề nghị (đồng)", "Requested (VND)"),
                              ("Kinh phí được duyệt (đồng)", "Approved (VND)")], body, total, money_from=2)


def build(session: Session, user: Any, kind: str, args: Mapping[str, str], unit_names: Mapping[str, str],
          state_titles: Mapping[str, str], on: dt.date | None = None) -> Report:
    """The report of ``kind`` for the period and filters in ``args`` (InvalidInput when they are wrong)."""
    if kind not in KINDS:
        raise _invalid("kind", "Loại báo cáo không hợp lệ", "Unknown report kind")
    today = on or clock.today()
    if kind == "plan":
        return plan_report(session, user, args, unit_names, today)
    first, last, start, end, label = period_of(kind, args, today.year)
    given = {k: v for k, v in args.items() if k in ("unit", "category", "fund")}
    unknown = [k for k in args if k not in PARAMS]
    if unknown:
        raise _invalid(unknown[0], f"Tham số không hợp lệ: {unknown[0]}", f"Unknown parameter: {unknown[0]}")
    filters = queries.parse_filters({**given, "year_from": str(first), "year_to": str(last)})
    d = queries.dashboard(session, user, filters, on=today)
    title, recipient = KINDS[kind]
    report = Report(kind, title, recipient, label, start, end, filters, dashboard=d)
    carried = d.carried_out
    report.tables.append(Table("summary", ("Tổng hợp", "Summary"), [("Chỉ tiêu", "Item"), ("Giá trị", "Value")], [
        ["Số đề án trong kế hoạch", d.totals.count],
        ["Số đề án được thực hiện", carried.projects],
        ["Trong đó: chuyển giao, ứng dụng máy móc thiết bị", carried.machinery],
        ["Số đơn vị cấp huyện có đề án được thực hiện", carried.units],
        ["Kinh phí đề nghị hỗ trợ (đồng)", d.totals.requested],
        ["Kinh phí được duyệt (đồng)", d.totals.approved],
        ["Vốn đối ứng của cơ sở (đồng)", d.totals.counterpart],
    ]))
    if kind in ("quarterly", "semiannual", "annual"):
        moved = cube.funnel(session, user, Filters(**{**vars(filters), "year_from": None, "year_to": None}),
                            between=(start, end + dt.timedelta(days=1)))
        report.tables.append(Table("activity", ("Kết quả trong kỳ", "Activity in the period"),
                                   [("Giai đoạn", "Stage"), ("Số đề án", "Proposals")],
                                   [[title_[0], n] for _, title_, n in moved]))
    if kind != "budget":
        report.tables.append(_count_table("category", ("Theo nội dung hoạt động", "By activity"),
                                          ("Nội dung", "Activity"), d.counts["category"],
                                          lambda k: CATEGORIES.get(k, (k, k))[0]))
        report.tables.append(_count_table("district", ("Theo đơn vị hành chính (cấp huyện cũ)", "By district"),
                                          ("Đơn vị", "Unit"), d.counts["district"],
                                          lambda k: unit_names.get(k or "", k or "—")))
        report.tables.append(_count_table("state", ("Theo trạng thái", "By state"), ("Trạng thái", "State"),
                                          d.counts["state"], lambda k: state_titles.get(k, k)))
    if kind == "period":
        report.tables.append(_count_table("year", ("Theo năm kế hoạch", "By year"), ("Năm", "Year"),
                                          d.counts["year"], str))
    budget_headers: list[Text] = [("Nguồn kinh phí", "Fund"), ("Năm", "Year"), ("Số đề án", "Projects"),
                                  *(queries.BUDGET_TITLES[c] for c in queries.BUDGET_COLUMNS)]
    totals = d.budget_total
    report.tables.append(Table(
        "budget", ("Tình hình thực hiện kinh phí (đồng)", "Budget execution (VND)"), budget_headers,
        [[r.fund, r.year, r.projects, *(getattr(r, c) for c in queries.BUDGET_COLUMNS)] for r in d.budget],
        ["Tổng cộng", "", totals["projects"], *(totals[c] for c in queries.BUDGET_COLUMNS)], money_from=3))
    return report


PLAN_PARAMS = ("kind", "year", "fund", "format")


def plan_report(session: Session, user: Any, args: Mapping[str, str], unit_names: Mapping[str, str],
                today: dt.date) -> Report:
    """The plan list of the province's round of (year, fund), limited to the proposals in the actor's scope."""
    from sqlalchemy import select

    from app.models import Proposal
    from app.models.rounds import FUNDS, PlanRound
    from app.rounds.services import plan_list
    from app.scoping import scope_clause

    unknown = [k for k in args if k not in PLAN_PARAMS]
    if unknown:
        raise _invalid(unknown[0], f"Tham số không hợp lệ: {unknown[0]}", f"Unknown parameter: {unknown[0]}")
    year = _int(args, "year", MIN_YEAR, MAX_YEAR, today.year)
    fund = args.get("fund") or "local"
    if fund not in FUNDS:
        raise _invalid("fund", "Nguồn kinh phí phải là local hoặc national", "The fund must be local or national")
    from flask import current_app

    plan_round = session.scalar(select(PlanRound).where(
        PlanRound.province_code == current_app.config["PROVINCE_CODE"], PlanRound.fund == fund,
        PlanRound.plan_year == year))
    if plan_round is None:
        raise _invalid("year", f"Chưa có đợt kế hoạch {FUNDS[fund][0].lower()} năm {year}",
                       f"There is no {fund} plan round for {year}")
    visible = set(session.scalars(select(Proposal.id).where(Proposal.round_id == plan_round.id, scope_clause(user))))
    title, recipient = KINDS["plan"]
    report = Report("plan", title, recipient, f"{FUNDS[fund][0].lower()} năm {year}", dt.date(year, 1, 1),
                    dt.date(year, 12, 31), Filters(year_from=year, year_to=year, fund=fund))
    rows: list[list[Any]] = []
    count = total = 0
    for group in plan_list(session, plan_round).groups:
        lines = [line for line in group.lines if line.proposal.id in visible]
        if not lines:
            continue
        subtotal = sum(line.proposal.requested_support for line in lines)
        rows.append([CATEGORIES.get(group.category, (group.category, ""))[0], "", "", "", "", ""])
        rows += [[line.rank, line.proposal.code, line.proposal.title,
                  unit_names.get(line.proposal.district_code or "", line.proposal.district_code or "—"),
                  "" if line.score is None else f"{line.score:.1f}", line.proposal.requested_support]
                 for line in lines]
        rows.append(["Cộng nhóm", "", "", "", "", subtotal])
        count, total = count + len(lines), total + subtotal
    report.tables.append(Table(
        "plan", ("Danh mục đề án đạt thẩm định, xếp thứ tự phân bổ", "Appraised proposals in allocation order"),
        [("Thứ tự", "Rank"), ("Mã", "Code"), ("Tên đề án", "Title"), ("Đơn vị (cấp huyện cũ)", "District"),
         ("Điểm hội đồng", "Council score"), ("Kinh phí đề nghị hỗ trợ (đồng)", "Requested (VND)")],
        rows, [f"Tổng cộng: {count} đề án", "", "", "", "", total], money_from=5))
    return report


def xlsx(report: Report, province: str) -> bytes:
    """The report as an XLSX workbook, written in streaming (write-only) mode."""
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("Báo cáo")
    for letter, width in zip("ABCDEFGHIJ", (48, 14, 18, 20, 20, 18, 18, 18, 16, 18), strict=True):
        ws.column_dimensions[letter].width = width
    bold = Font(bold=True)

    def cell(value: Any, *, strong: bool = False, money: bool = False) -> WriteOnlyCell:
        c = WriteOnlyCell(ws, value=value)
        if strong:
            c.font = bold
        if money and isinstance(value, int):
            c.number_format = "#,##0"
        return c

    ws.append([cell(f"UBND {province.upper()}", strong=True), None, None,
               cell("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", strong=True)])
    ws.append([cell("TRUNG TÂM KHUYẾN CÔNG", strong=True), None, None, cell("Độc lập - Tự do - Hạnh phúc")])
    ws.append([])
    ws.append([cell(f"{report.title[0].upper()} {report.period_label.upper()}", strong=True)])
    ws.append([f"Kính gửi: {report.recipient[0]}"])
    ws.append([LEGAL_BASIS])
    ws.append([f"Kỳ báo cáo: {report.start:%d/%m/%Y} – {report.end:%d/%m/%Y}"])
    for table in report.tables:
        ws.append([])
        ws.append([cell(table.title[0], strong=True)])
        heading = [cell(h[0], strong=True) for h in table.headers]
        for c in heading:
            c.alignment = Alignment(wrap_text=True)
        ws.append(heading)
        for row in table.rows:
            ws.append([cell(v, money=i >= table.money_from) for i, v in enumerate(row)])
        if table.total is not None:
            ws.append([cell(v, strong=True, money=i >= table.money_from) for i, v in enumerate(table.total)])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
