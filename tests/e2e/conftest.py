"""End-to-end fixtures: a real HTTP server, a real Chromium, people made through the app's own CLI.

- ``live_server``: ``create_app()`` on a fresh SQLite file migrated by ``flask init-db`` (app.schema.upgrade plus the
  units), served by werkzeug's threaded server on 127.0.0.1 and a free port, in a background thread.
- ``people``: the organisations and users of the story, created with ``flask create-user`` (organisations, which
  have no command, with the same ORM model the test fixtures use).
- ``browser``: Debian's ``/usr/bin/chromium`` driven by Playwright (never a downloaded browser). Without it the
  tests skip with the reason, unless REQUIRE_BROWSER=1 (as .ci/run sets): then they fail.
- ``cast``: one browser context per user, logged in on first use, so each step runs as the right person.
  When the test fails, every open page is saved (PNG + HTML) under ``test-artifacts/e2e/<test name>/``, with the
  step it failed at in ``step.txt`` (E2E_ARTIFACTS=always saves them after a passing run too).
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "e2e"
PASSWORD = "matkhau-e2e-2026"
PROVINCE = "19"
DISTRICT, COMMUNE = "171", "05830"  # former Đại Từ district; post-reform xã Đại Từ
OTHER_COMMUNE = "05908"  # post-reform xã Phú Bình (former Phú Bình district)
TIMEOUT_MS = 15_000


def _browser_missing() -> str | None:
    if not Path(CHROMIUM).exists():
        return f"{CHROMIUM} is missing (apt-get install chromium): browser tests skipped"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError as exc:
        return f"Playwright for Python is not installed ({exc}): browser tests skipped"
    return None


# --- failure artifacts ---------------------------------------------------------------------------------------

@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[Any]) -> Iterator[Any]:
    """Keep each phase's report on the item, so fixtures can tell in their teardown that the test failed."""
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


def _failed(node: pytest.Item) -> bool:
    return any(getattr(getattr(node, f"rep_{when}", None), "failed", False) for when in ("setup", "call"))


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("_")[:120] or "page"


# --- the server ------------------------------------------------------------------------------------------------

@dataclass
class LiveServer:
    url: str
    app: Any
    database_url: str

    def session(self) -> Any:
        return self.app.extensions["db_sessionmaker"]()

    def cli(self, *args: str) -> str:
        """Run one of the app's own Flask CLI commands (in an app context, as ``flask`` runs them); fails the test
        when it does not succeed."""
        with self.app.app_context():
            result = self.app.test_cli_runner().invoke(args=list(args))
        assert result.exit_code == 0, f"flask {' '.join(args)} failed: {result.output}{result.exception!r}"
        return result.output


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    import logging

    from werkzeug.serving import make_server

    from app import create_app

    root = tmp_path_factory.mktemp("e2e")
    database_url = f"sqlite:///{root / 'grantflow.sqlite'}"
    app = create_app({
        "DATABASE_URL": database_url,
        "SECRET_KEY": "e2e-secret",
        "UPLOAD_DIR": str(root / "uploads"),
        "LOGIN_RATE_LIMIT": "1000 per minute",  # a dozen people log in from 127.0.0.1 within a minute
        "LOGIN_IP_RATE_LIMIT": "1000 per minute",
        "SESSION_COOKIE_SECURE": False,  # served over plain HTTP on loopback
    })
    server = LiveServer("", app, database_url)
    server.cli("init-db")  # the migrations (app.schema.upgrade) and the administrative units
    werkzeug_log = logging.getLogger("werkzeug")
    level = werkzeug_log.level
    werkzeug_log.setLevel(logging.WARNING)  # no line per request in the failure report
    httpd = make_server("127.0.0.1", _free_port(), app, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, name="e2e-live-server", daemon=True)
    thread.start()
    server.url = f"http://127.0.0.1:{httpd.server_port}"
    try:
        yield server
    finally:
        httpd.shutdown()
        thread.join(timeout=10)
        werkzeug_log.setLevel(level)
        app.extensions["db_engine"].dispose()


# --- the people ------------------------------------------------------------------------------------------------

@dataclass
class Person:
    username: str
    full_name: str
    role: str
    unit: str | None = None
    organisation_tax_code: str | None = None


@dataclass
class People:
    applicant: Person
    other_applicant: Person
    commune_officer: Person
    district_officer: Person
    centre_officer: Person
    director: Person
    auditor: Person
    members: list[Person] = field(default_factory=list)


ORGANISATIONS = [  # (tax code, name, kind, commune)
    ("4600123457", "Hợp tác xã chè La Bằng", "cooperative", COMMUNE),
    ("4600987653", "Cơ sở cơ khí Đào Xá", "household", OTHER_COMMUNE),
]


@pytest.fixture(scope="module")
def people(live_server: LiveServer) -> People:
    from app.models import Organisation

    with live_server.session() as session:
        for tax_code, name, kind, commune in ORGANISATIONS:
            session.add(Organisation(name=name, kind=kind, tax_code=tax_code, commune_code=commune))
        session.commit()
    cast = People(
        applicant=Person("e2e_coso", "Nguyễn Thị Chè", "applicant", organisation_tax_code=ORGANISATIONS[0][0]),
        other_applicant=Person("e2e_coso_khac", "Trần Văn Khác", "applicant",
                               organisation_tax_code=ORGANISATIONS[1][0]),
        commune_officer=Person("e2e_xa", "Lê Văn Xã", "commune_officer", COMMUNE),
        district_officer=Person("e2e_huyen", "Phạm Thị Huyện", "district_officer", DISTRICT),
        centre_officer=Person("e2e_trungtam", "Hoàng Văn Trung", "centre_officer", PROVINCE),
        director=Person("e2e_giamdoc", "Đỗ Minh Giám", "director", PROVINCE),
        auditor=Person("e2e_thanhtra", "Vũ Thị Tra", "auditor", PROVINCE),
        members=[Person(f"e2e_hoidong{i}", f"Thành viên Hội đồng {i}", "council_member", PROVINCE)
                 for i in range(1, 6)],
    )
    everyone = [cast.applicant, cast.other_applicant, cast.commune_officer, cast.district_officer,
                cast.centre_officer, cast.director, cast.auditor, *cast.members]
    for person in everyone:
        args = ["create-user", person.username, "--role", person.role, "--password", PASSWORD,
                "--full-name", person.full_name]
        if person.unit:
            args += ["--unit", person.unit]
        if person.organisation_tax_code:
            args += ["--organisation", person.organisation_tax_code]
        live_server.cli(*args)
    return cast


# --- the browser -----------------------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    reason = _browser_missing()
    if reason:
        if os.environ.get("REQUIRE_BROWSER") == "1":
            pytest.fail(reason.replace("skipped", "required (REQUIRE_BROWSER=1)"))
        pytest.skip(reason)
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=TIMEOUT_MS)
    with sync_playwright() as playwright:
        # launch() gives every run a fresh temporary profile (user data dir) of its own
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


class Cast:
    """One logged-in browser page per user, created on first use."""

    def __init__(self, browser: Any, server: LiveServer):
        self.browser, self.server = browser, server
        self.pages: dict[str, Any] = {}
        self.contexts: list[Any] = []
        self.step = "setup"

    def url(self, path: str) -> str:
        return self.server.url + path

    def page(self, person: Person) -> Any:
        """The page of ``person``, logged in through the login form the first time."""
        from playwright.sync_api import expect

        if person.username in self.pages:
            return self.pages[person.username]
        context = self.browser.new_context(locale="vi-VN", timezone_id="Asia/Ho_Chi_Minh",
                                           viewport={"width": 1280, "height": 900})
        context.set_default_timeout(TIMEOUT_MS)
        self.contexts.append(context)
        page = context.new_page()
        self.pages[person.username] = page
        page.goto(self.url("/login"))
        page.fill("#username", person.username)
        page.fill("#password", PASSWORD)
        page.click("#login-submit")
        expect(page.locator("#current-user"), f"{person.username} could not log in").to_have_text(person.full_name)
        return page

    def save(self, test_name: str) -> Path:
        target = ARTIFACTS / _slug(test_name)
        shutil.rmtree(target, ignore_errors=True)
        target.mkdir(parents=True, exist_ok=True)
        (target / "step.txt").write_text(self.step + "\n", encoding="utf-8")
        for n, (user, page) in enumerate(self.pages.items(), 1):
            stem = target / f"{n:02d}-{_slug(user)}"
            try:
                page.screenshot(path=str(stem.with_suffix(".png")), full_page=True)
                stem.with_suffix(".html").write_text(f"<!-- {page.url} -->\n" + page.content(), encoding="utf-8")
            except Exception as exc:  # a crashed page must not hide the test's own failure
                stem.with_suffix(".txt").write_text(f"could not save {page.url}: {exc!r}\n", encoding="utf-8")
        return target

    def close(self) -> None:
        for context in self.contexts:
            context.close()


@pytest.fixture
def cast(request: pytest.FixtureRequest, browser: Any, live_server: LiveServer) -> Iterator[Cast]:
    actors = Cast(browser, live_server)
    try:
        yield actors
    finally:
        if _failed(request.node):
            where = actors.save(request.node.name)
            print(f"\n[e2e] failed at step {actors.step!r}: screenshots and HTML saved in {where}")
        elif os.environ.get("E2E_ARTIFACTS") == "always":  # to look at the pages of a passing run
            actors.save(request.node.name)
        actors.close()
