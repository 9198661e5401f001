"""Exports of filtered lists (proposals, funding) as CSV and XLSX, with a totals row.

Rows are read in SQL with their joins (no query per row), in batches, and written to a spooled file that goes
to disk past SPOOL_BYTES (XLSX in openpyxl's write-only mode, which writes strings inline: no shared-strings
table grows with the rows), so memory stays flat in the number of rows.
"""

from __future__ import annotations

import csv
import io
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import IO, Any

from flask import Response
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased

from app.models import Organisation, Proposal, Unit
from app.models.stages import Advance, BudgetEnvelope, Funding

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
BATCH = 1000
SPOOL_BYTES = 64 * 1024
TOTAL_LABEL = "Tổng cộng"


def proposal_rows(session: Session, stmt: Any) -> tuple[list[str], list[int], Iterator[Sequence[Any]]]:
    """(headers, indexes of the summed columns, rows) of the proposals ``stmt`` selects."""
    commune, district = aliased(Unit), aliased(Unit)
    ids = stmt.with_only_columns(Proposal.id).subquery()
    rows = (select(Proposal.code, Proposal.title, Organisation.name, commune.name, district.name, Proposal.category,
                   Proposal.year, Proposal.wf_state, Proposal.total_cost, Proposal.requested_support,
                   Proposal.counterpart_funds, Funding.approved_amount)
            .join(ids, ids.c.id == Proposal.id).join(Organisation, Organisation.id == Proposal.organisation_id)
            .outerjoin(commune, commune.code == Proposal.commune_code)
            .outerjoin(district, district.code == Proposal.district_code)
            .outerjoin(Funding, Funding.proposal_id == Proposal.id)
            .order_by(Proposal.year.desc(), Proposal.code.desc()))
    headers = ["Mã", "Tên đề án", "Cơ sở", "Xã/phường", "Huyện (cũ)", "Nội dung", "Năm", "Trạng thái",
               "Tổng vốn (đồng)", "Kinh phí đề nghị (đồng)", "Vốn đối ứng (đồng)", "Kinh phí được duyệt (đồng)"]
    return headers, [8, 9, 10, 11], session.execute(rows.execution_options(yield_per=BATCH))


def funding_rows(session: Session, stmt: Any) -> tuple[list[str], list[int], Iterator[Sequence[Any]]]:
    """(headers, summed columns, rows) of the fundings of the proposals ``stmt`` selects."""
    ids = stmt.with_only_columns(Proposal.id).subquery()
    advanced = (select(Advance.proposal_id, func.sum(Advance.amount).label("amount"))
                .group_by(Advance.proposal_id).subquery())
    rows = (select(Proposal.code, Proposal.title, BudgetEnvelope.fund, BudgetEnvelope.year, Funding.decision_number,
                   Funding.decision_date, Funding.contract_number, Funding.approved_amount,
                   func.coalesce(advanced.c.amount, 0), Funding.disbursed_total, Funding.refund_amount)
            .join(ids, ids.c.id == Funding.proposal_id).join(Proposal, Proposal.id == Funding.proposal_id)
            .join(BudgetEnvelope, BudgetEnvelope.id == Funding.envelope_id)
            .outerjoin(advanced, advanced.c.proposal_id == Funding.proposal_id)
            .order_by(BudgetEnvelope.year.desc(), Proposal.code))
    headers = ["Mã", "Tên đề án", "Nguồn kinh phí", "Năm", "Số quyết định", "Ngày quyết định", "Số hợp đồng",
               "Được duyệt (đồng)", "Đã tạm ứng (đồng)", "Quyết toán (đồng)", "Hoàn trả (đồng)"]
    return headers, [7, 8, 9, 10], session.execute(rows.execution_options(yield_per=BATCH))


class _Totals:
    def __init__(self, width: int, summed: list[int]) -> None:
        self.summed, self.values = summed, [0] * width

    def add(self, row: Sequence[Any]) -> Sequence[Any]:
        for i in self.summed:
            self.values[i] += row[i] or 0
        return row

    def row(self) -> list[Any]:
        return [TOTAL_LABEL, *(v if i in self.summed else "" for i, v in enumerate(self.values) if i)]


def _spooled(name: str, mimetype: str, write: Callable[[IO[bytes]], None]) -> Response:
    """Write the whole file inside the request (the rows come from the request's transaction), spilling to
    disk once large, then stream it out."""
    # Small: a file kept in memory up to the threshold would make memory grow with the rows.
    spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115  (closed after sending)
    write(spool)
    spool.seek(0)
    response = Response(iter(lambda: spool.read(64 * 1024), b""), mimetype=mimetype,
                        headers={"Content-Disposition": f'attachment; filename="{name}"'})
    response.call_on_close(spool.close)
    return response


def csv_response(name: str, headers: list[str], summed: list[int], rows: Iterable[Sequence[Any]]) -> Response:
    def write(out: IO[bytes]) -> None:
        text = io.TextIOWrapper(out, encoding="utf-8-sig", newline="")  # a BOM: spreadsheets then read UTF-8
        writer = csv.writer(text)
        totals = _Totals(len(headers), summed)
        writer.writerow(headers)
        writer.writerows(totals.add(row) for row in rows)
        writer.writerow(totals.row())
        text.flush()
        text.detach()  # leave the spool open for sending

    return _spooled(f"{name}.csv", "text/csv", write)


def xlsx_response(name: str, headers: list[str], summed: list[int], rows: Iterable[Sequence[Any]]) -> Response:
    def write(out: IO[bytes]) -> None:
        wb = Workbook(write_only=True)
        ws = wb.create_sheet(name[:31])
        bold = Font(bold=True)

        def strong(values: Sequence[Any]) -> list[WriteOnlyCell]:
            cells = []
            for value in values:
                cell = WriteOnlyCell(ws, value=value)
                cell.font = bold
                cells.append(cell)
            return cells

        ws.append(strong(headers))
        totals = _Totals(len(headers), summed)
        for row in rows:
            ws.append(list(totals.add(row)))
        ws.append(strong(totals.row()))
        wb.save(out)

    return _spooled(f"{name}.xlsx", XLSX, write)
