"""Whole-trail verification started from a live threaded server (werkzeug, real HTTP, real SQLite file).

Under this server the background run always recorded its end; what never showed it was the page. The start
redirected to ``/audit/verify#run-N`` and the page refreshed itself with a bare ``<meta refresh>``, which
Chromium takes for a jump to the fragment within the same page: no reload, so the page spun forever. These
tests hold the whole path: the API's 202 and status URL over HTTP, and the browser following a run to its end.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
import requests

from .conftest import PASSWORD, PROVINCE, Cast, LiveServer, Person

AUDITOR = Person("e2e_verify_auditor", "Vũ Thị Kiểm", "auditor", PROVINCE)
APPLICANT = Person("e2e_verify_coso", "Nguyễn Văn Cơ", "applicant", organisation_tax_code="4600123457")


@pytest.fixture(scope="module")
def tokens(live_server: LiveServer) -> dict[str, str]:
    """An auditor and an applicant made with the app's own CLI, each with an API token; two proposals filed
    through the API, so the trail holds events."""
    from app.models import Organisation

    with live_server.session() as session:
        session.add(Organisation(name="Hợp tác xã chè La Bằng", kind="cooperative", tax_code="4600123457",
                                 commune_code="05830"))
        session.commit()
    found = {}
    for person in (AUDITOR, APPLICANT):
        args = ["create-user", person.username, "--role", person.role, "--password", PASSWORD,
                "--full-name", person.full_name]
        args += ["--unit", person.unit] if person.unit else ["--organisation", str(person.organisation_tax_code)]
        live_server.cli(*args)
        found[person.role] = live_server.cli("create-token", person.username).strip().split()[-1]
    for title in ("Lò sấy chè La Bằng", "Máy vò chè La Bằng"):
        r = requests.post(f"{live_server.url}/api/v1/proposals", timeout=10, json={
            "title": title, "category": "machinery", "sector": "agro_processing", "year": 2026},
            headers={"Authorization": f"Bearer {found['applicant']}"})
        assert r.status_code == 201, r.text
    return found


def _follow(url: str, headers: dict[str, str], timeout: float = 20.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        r = requests.get(url, headers=headers, timeout=10)
        assert r.status_code == 200, r.text
        if r.json()["finished"]:
            return r.json()
        time.sleep(0.1)
    raise AssertionError(f"the run at {url} did not record its end within {timeout} s")


def test_the_api_starts_a_background_run_and_its_status_url_shows_the_end(live_server: LiveServer,
                                                                          tokens: dict[str, str]) -> None:
    headers = {"Authorization": f"Bearer {tokens['auditor']}"}
    started = requests.post(f"{live_server.url}/api/v1/audit/verify", headers=headers, timeout=10)
    assert started.status_code == 202, started.text
    assert started.headers["Location"] == started.json()["status_url"]
    done = _follow(live_server.url + started.headers["Location"], headers)
    assert done["ok"] is True and done["error"] is None and not done["running"]
    assert done["checked"] == done["total"] >= 2 and len(done["head_digest"]) == 64
    latest = requests.get(f"{live_server.url}/api/v1/audit/verify", headers=headers, timeout=10).json()
    assert latest["id"] == done["id"]
    refused = requests.post(f"{live_server.url}/api/v1/audit/verify", timeout=10,
                            headers={"Authorization": f"Bearer {tokens['applicant']}"})
    assert refused.status_code == 403


def test_the_browser_follows_a_run_started_from_the_page(cast: Cast, tokens: dict[str, str]) -> None:
    from playwright.sync_api import expect

    page = cast.page(AUDITOR)
    page.goto(cast.url("/audit/verify"))
    with page.expect_navigation():
        page.click("#verify-start button")
    assert "#" not in page.url  # a fragment turns the page's self-refresh into a jump within the page
    expect(page.locator("#verify-result")).to_have_attribute("data-ok", "true", timeout=20_000)
    assert int(page.locator("#verify-count").inner_text()) >= 2


def test_a_page_showing_a_running_run_reloads_until_it_ends(cast: Cast, live_server: LiveServer,
                                                            tokens: dict[str, str]) -> None:
    """Deterministic: a run still going on (as one started by another worker process is, from here), opened
    through the old ``#run-N`` link; its end is written by another connection and the page must show it."""
    from playwright.sync_api import expect

    from app.audit.jobs import VerificationRun
    from workflow.storage import utcnow

    with live_server.session() as session:
        run = VerificationRun(total=5, checked=1, problems=[])
        session.add(run)
        session.commit()
        run_id = run.id
    page = cast.page(AUDITOR)
    page.goto(cast.url(f"/audit/verify#run-{run_id}"))
    expect(page.locator("#verify-progress")).to_be_visible()
    with live_server.session() as session:
        ended = session.get(VerificationRun, run_id)
        assert ended is not None
        ended.finished_at, ended.checked, ended.ok, ended.head_digest = utcnow(), 5, True, "a" * 64
        session.commit()
    expect(page.locator("#verify-result")).to_have_attribute("data-ok", "true", timeout=10_000)
    expect(page.locator("#verify-count")).to_have_text("5")
