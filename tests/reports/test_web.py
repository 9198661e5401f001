"""The dashboard and the statutory reports over HTTP: figures, scope, XLSX totals, bad input, read-only."""

from __future__ import annotations

import io
import re
from typing import Any

import pytest
from conftest import PROVINCE, login
from openpyxl import load_workbook

M = 1_000_000  # the sample's amounts are in millions of VND (see conftest)


def client_for(app: Any, make_user: Any, username: str, role: str | None, unit: str | None = PROVINCE) -> Any:
    make_user(username, role, unit)
    client = app.test_client()
    assert login(client, username).status_code == 302
    return client


def cell(html: str, element_id: str) -> str:
    match = re.search(rf'id="{element_id}">([^<]*)<', html)
    assert match, element_id
    return match.group(1).strip()


def test_dashboard_shows_the_figures_with_charts_and_tables(app: Any, sample: Any, make_user: Any) -> None:
    client = client_for(app, make_user, "ttkc_web", "centre_officer")
    page = client.get("/dashboard")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert cell(html, "total-count") == "8" and cell(html, "carried-out") == "3"
    assert cell(html, "total-approved") == "540.000.000 ₫"
    for key in ("funnel", "state", "district", "category", "year", "fund", "budget"):
        assert f'id="chart-{key}" class="chart' in html and f'id="table-{key}"' in html
    assert 'role="img"' in html and "<desc" in html
    assert 'id="nav-dashboard"' in html


def test_district_officer_dashboard_counts_only_their_units(app: Any, sample: Any, make_user: Any) -> None:
    html = client_for(app, make_user, "pkt_web", "district_officer", "171").get("/dashboard").get_data(as_text=True)
    assert cell(html, "total-count") == "5" and cell(html, "carried-out") == "2"
    assert "Huyện Phú Bình" not in html.split('id="table-district"')[1].split("</table>")[0]


@pytest.mark.parametrize("query", ["year_from=1850", "colour=red", "year_from=2021&year_to=2019", "unit=%27x"])
def test_bad_filters_get_a_message_not_a_500(app: Any, sample: Any, make_user: Any, query: str) -> None:
    client = client_for(app, make_user, "ttkc_web", "centre_officer")
    page = client.get(f"/dashboard?{query}")
    assert page.status_code == 422
    html = page.get_data(as_text=True)
    assert 'id="report-errors"' in html and 'id="total-count"' not in html
    assert "không hợp lệ" in html or "Năm" in html


@pytest.mark.parametrize("url", ["/reports/nonsense", "/reports/annual?year=99999", "/reports/quarterly?quarter=5",
                                 "/reports/period?period=2011-2015", "/reports/annual?colour=red"])
def test_bad_report_parameters_get_a_message(app: Any, sample: Any, make_user: Any, url: str) -> None:
    page = client_for(app, make_user, "ttkc_web", "centre_officer").get(url)
    assert page.status_code == 422 and 'id="report-errors"' in page.get_data(as_text=True)


def _xlsx_rows(data: bytes) -> list[tuple[Any, ...]]:
    sheet = load_workbook(io.BytesIO(data), read_only=True).active
    return [tuple(row) for row in sheet.iter_rows(values_only=True)]


def test_xlsx_totals_equal_the_dashboard(app: Any, sample: Any, make_user: Any) -> None:
    client = client_for(app, make_user, "ttkc_web", "centre_officer")
    dash = client.get("/dashboard?year_from=2016&year_to=2020").get_data(as_text=True)
    response = client.get("/reports/period?period=2016-2020&format=xlsx")
    assert response.status_code == 200 and response.mimetype.endswith("spreadsheetml.sheet")
    rows = _xlsx_rows(response.data)
    totals = [r for r in rows if r and r[0] == "Tổng cộng"]
    by_category, by_district, by_state, by_year, budget = totals
    assert by_category[1:4] == by_district[1:4] == by_state[1:4] == by_year[1:4]
    assert f"{by_category[1]}" == cell(dash, "total-count") == "6"
    assert f"{by_category[3]:,} ₫".replace(",", ".") == cell(dash, "total-approved") == "540.000.000 ₫"
    assert budget[2:5] == (4, 900 * M, 540 * M)  # projects, allocated (2019 + 2020 envelopes), approved
    summary = {r[0]: r[1] for r in rows if r and len(r) > 1 and isinstance(r[1], int)}
    assert summary["Số đề án được thực hiện"] == int(cell(dash, "carried-out")) == 3


def test_printable_reports_open_for_each_kind(app: Any, sample: Any, make_user: Any) -> None:
    client = client_for(app, make_user, "ttkc_web", "centre_officer")
    assert client.get("/reports").status_code == 200
    for url in ("/reports/quarterly?year=2020&quarter=1", "/reports/semiannual?year=2020&half=1",
                "/reports/annual?year=2020", "/reports/budget?year=2019", "/reports/period?period=2016-2020"):
        page = client.get(url)
        assert page.status_code == 200, url
        assert "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" in page.get_data(as_text=True)
    # quarter 1 of 2020: P3, P4 and P5 were created, submitted and forwarded; P4 was also funded (02/02)
    html = client.get("/reports/quarterly?year=2020&quarter=1").get_data(as_text=True)
    activity = html.split('id="report-activity"')[1].split("</table>")[0]
    cells = re.findall(r"<td[^>]*>([^<]*)</td>", activity)
    assert dict(zip(cells[::2], cells[1::2], strict=True))["Được giao kinh phí"] == "2"  # P3 01/03, P4 02/02


def test_people_without_a_reporting_role_are_refused(app: Any, sample: Any, make_user: Any) -> None:
    applicant = client_for(app, make_user, "ung_vien_web", "applicant", "05761")
    assert applicant.get("/dashboard").status_code == 403
    assert applicant.get("/reports/annual?year=2020").status_code == 403
    assert app.test_client().get("/dashboard").status_code == 302  # to the login page


def test_auditor_opens_everything(app: Any, sample: Any, make_user: Any) -> None:
    client = client_for(app, make_user, "thanhtra_web", "auditor")
    for url in ("/dashboard", "/reports", "/reports/annual?year=2019", "/reports/annual?year=2019&format=xlsx"):
        assert client.get(url).status_code == 200, url


def test_per_proposal_documents_are_filled_from_the_data(app: Any, sample: Any, make_user: Any) -> None:
    client = client_for(app, make_user, "ttkc_doc", "centre_officer")
    settled, waiting = sample.proposals[2], sample.proposals[4]  # P3 settled; P5 still in appraisal
    page = client.get(f"/proposals/{settled.id}/documents/settlement")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and settled.code in html
    assert cell(html, "document-approved") == "90.000.000 ₫" and cell(html, "document-settled") == "80.000.000 ₫"
    assert client.get(f"/proposals/{settled.id}/documents/funding-decision").status_code == 200
    missing = client.get(f"/proposals/{waiting.id}/documents/funding-decision")
    assert missing.status_code == 409 and 'id="document-missing"' in missing.get_data(as_text=True)
    other = client_for(app, make_user, "pkt_doc", "district_officer", "171")
    assert other.get(f"/proposals/{settled.id}/documents/settlement").status_code == 404  # P3 is in Phú Bình
