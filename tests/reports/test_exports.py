"""Exports of the filtered proposal list and of funding (CSV, XLSX, with totals); totals and sorting on the
proposal list page. Figures from the hand-checked sample (see conftest)."""

from __future__ import annotations

import csv
import io
import re
from typing import Any

from conftest import PROVINCE, login
from openpyxl import load_workbook

M = 1_000_000  # the sample's amounts are in millions of VND (see conftest)


def logged_in(app: Any, make_user: Any, username: str, role: str, unit: str = PROVINCE) -> Any:
    make_user(username, role, unit)
    client = app.test_client()
    assert login(client, username).status_code == 302
    return client


def read_csv(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))


def test_list_page_totals_and_sorting(app: Any, sample: Any, make_user: Any) -> None:
    client = logged_in(app, make_user, "ttkc_exp", "centre_officer")
    html = client.get("/proposals").get_data(as_text=True)
    assert re.search(r'id="total-requested">810\.000\.000 ₫<', html)
    assert re.search(r'id="total-approved">540\.000\.000 ₫<', html)
    by_requested = client.get("/proposals?sort=-requested").get_data(as_text=True)
    codes = re.findall(r">(KC-\d{4}-\d{4})</a>", by_requested)
    assert codes[:3] == ["KC-2019-0001", "KC-2019-0002", "KC-2020-0004"]  # 200M, 150M, 120M
    ascending = re.findall(r">(KC-\d{4}-\d{4})</a>", client.get("/proposals?sort=code").get_data(as_text=True))
    assert ascending == sorted(ascending) and len(ascending) == 8
    filtered = client.get("/proposals?year=2020").get_data(as_text=True)
    assert re.search(r'id="total-requested">300\.000\.000 ₫<', filtered)  # P3 100M + P4 120M + P5 80M


def test_proposal_exports_follow_the_filters_and_carry_totals(app: Any, sample: Any, make_user: Any) -> None:
    client = logged_in(app, make_user, "ttkc_exp", "centre_officer")
    rows = read_csv(client.get("/proposals/export.csv?category=machinery").data)
    assert rows[0][0] == "Mã" and len(rows) == 1 + 5 + 1
    assert rows[-1][0] == "Tổng cộng" and rows[-1][9] == str(570 * M) and rows[-1][11] == str(450 * M)
    response = client.get("/proposals/export.xlsx?category=machinery")
    sheet = load_workbook(io.BytesIO(response.data), read_only=True).active
    values = [tuple(r) for r in sheet.iter_rows(values_only=True)]
    assert values[-1][0] == "Tổng cộng" and values[-1][9] == 570 * M and values[-1][11] == 450 * M
    assert len(values) == 7


def test_exports_are_scoped(app: Any, sample: Any, make_user: Any) -> None:
    commune = logged_in(app, make_user, "xa_exp", "commune_officer", "05908")
    rows = read_csv(commune.get("/proposals/export.csv").data)
    assert len(rows) == 1 + 3 + 1 and rows[-1][9] == str(270 * M)
    funding = read_csv(commune.get("/reports/funding.csv").data)
    assert [r[0] for r in funding[1:-1]] == ["KC-2020-0003", "KC-2020-0004"]
    assert funding[-1][7:11] == [str(210 * M), str(120 * M), str(80 * M), str(10 * M)]


def test_funding_export_totals(app: Any, sample: Any, make_user: Any) -> None:
    client = logged_in(app, make_user, "thanhtra_exp", "auditor")
    funding = read_csv(client.get("/reports/funding.csv").data)
    assert len(funding) == 1 + 4 + 1
    assert funding[-1][7:11] == [str(540 * M), str(330 * M), str(250 * M), str(10 * M)]
    sheet = load_workbook(io.BytesIO(client.get("/reports/funding.xlsx?year=2019").data), read_only=True).active
    last = [tuple(r) for r in sheet.iter_rows(values_only=True)][-1]
    assert last[7:9] == (330 * M, 210 * M)
    assert client.get("/reports/funding.csv?year=1").status_code == 422


def _peak_while_streaming(rows: int) -> tuple[int, bytes]:
    """Peak traced memory while the export is written and read out chunk by chunk (as a server sends it)."""
    import tracemalloc

    from app.reports.exports import xlsx_response

    data = ((f"KC-{i:06d}", f"Đề án số {i} — tên riêng của từng dòng", i * 1000) for i in range(rows))
    tracemalloc.start()
    response = xlsx_response("de-an", ["Mã", "Tên đề án", "Kinh phí (đồng)"], [2], data)
    head, size = b"", 0
    for chunk in response.response:
        head, size = head or chunk, size + len(chunk)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    response.close()
    assert size > 0
    return peak, head


def test_xlsx_memory_is_flat_in_the_rows() -> None:
    """Five times the rows (every title unique) must not grow the peak: write-only, inline strings, a spool
    that goes to disk (both files are past SPOOL_BYTES; the benchmark compares 10,000 and 100,000 rows)."""
    small, _ = _peak_while_streaming(5_000)
    large, _ = _peak_while_streaming(25_000)
    assert large < 1.1 * small, (small, large)


def test_xlsx_has_no_shared_strings_table(app: Any, sample: Any, make_user: Any) -> None:
    import zipfile

    client = logged_in(app, make_user, "ttkc_inline", "centre_officer")
    data = client.get("/proposals/export.xlsx").get_data()
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        sheet = z.read("xl/worksheets/sheet1.xml").decode()
        assert 't="inlineStr"' in sheet
        assert "xl/sharedStrings.xml" not in z.namelist() or b"<si>" not in z.read("xl/sharedStrings.xml")
    assert load_workbook(io.BytesIO(data)).active.cell(1, 1).value == "Mã"
