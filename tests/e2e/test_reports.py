"""The dashboard and one statutory report in Chromium, with screenshots saved under
test-artifacts/e2e/reports/ (dashboard.png, annual-report.png). Own server, on this area's ports 8640–8649."""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from e2e.conftest import ARTIFACTS, LiveServer, Person

PORTS = range(8640, 8650)


def _port() -> int:
    for port in PORTS:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            if s.connect_ex(("127.0.0.1", port)) != 0:
                return port
    pytest.skip("ports 8640-8649 are all in use")


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    from werkzeug.serving import make_server

    from app import create_app

    root = tmp_path_factory.mktemp("e2e-reports")
    url = f"sqlite:///{root / 'grantflow.sqlite'}"
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "e2e-secret", "UPLOAD_DIR": str(root / "uploads")})
    server = LiveServer("", app, url)
    server.cli("init-db")
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    httpd = make_server("127.0.0.1", _port(), app, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, name="e2e-reports-server", daemon=True)
    thread.start()
    server.url = f"http://127.0.0.1:{httpd.server_port}"
    try:
        yield server
    finally:
        httpd.shutdown()
        thread.join(timeout=10)
        app.extensions["db_engine"].dispose()


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
