"""The dashboard and one statutory report in Chromium, with screenshots saved under
test-artifacts/e2e/reports/ (dashboard.png, annual-report.png). The shared ``live_server`` (a fresh database
for this module, on a free port)."""

from __future__ import annotations

from typing import Any

import pytest

from e2e.conftest import ARTIFACTS, LiveServer, Person


@pytest.mark.browser
def test_dashboard_and_annual_report_in_chromium(live_server: LiveServer, cast: Any) -> None:
    from playwright.sync_api import expect
    from reports.conftest import load_sample

    with live_server.session() as session:
        load_sample(session)
    officer = Person("e2e_bc_trungtam", "Hoàng Văn Báo", "centre_officer", "19")
    live_server.cli("create-user", officer.username, "--role", officer.role, "--unit", "19", "--password",
                    "matkhau-e2e-2026", "--full-name", officer.full_name)
    target = ARTIFACTS / "reports"
    target.mkdir(parents=True, exist_ok=True)

    cast.step = "dashboard"
    page = cast.page(officer)
    page.click("#nav-dashboard")
    expect(page.locator("#total-count")).to_have_text("8")
    expect(page.locator("#chart-funnel")).to_be_visible()
    expect(page.locator("#table-district")).to_contain_text("Huyện Đại Từ")
    page.screenshot(path=str(target / "dashboard.png"), full_page=True)

    cast.step = "annual report"
    page.click("#to-reports")
    page.fill("#report-annual input[name=year]", "2020")
    page.click("#open-annual")
    expect(page.locator("#report")).to_contain_text("BÁO CÁO TỔNG KẾT NĂM")
    expect(page.locator("#report-summary")).to_contain_text("Số đề án được thực hiện")
    page.screenshot(path=str(target / "annual-report.png"), full_page=True)
    assert (target / "dashboard.png").stat().st_size > 10_000
