"""Vietnamese by default, English selectable; both catalogues complete; VND and Vietnam-time formats."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from babel.messages.pofile import read_po
from conftest import World, attach, token

from app.deadlines import add_working_days
from app.formatting import date, datetime, vnd

CATALOGUES = Path(__file__).resolve().parents[2] / "app" / "translations"


def test_login_page_in_both_languages(client: Any) -> None:
    vietnamese = client.get("/login").get_data(as_text=True)
    assert 'lang="vi"' in vietnamese and "Đăng nhập" in vietnamese and "Mật khẩu" in vietnamese
    response = client.post("/language", data={"lang": "en", "next": "/login", "csrf_token": token(client)})
    assert response.status_code == 303 and response.headers["Location"] == "/login"
    english = client.get("/login").get_data(as_text=True)
    assert 'lang="en"' in english and "Log in" in english and "Password" in english
    assert "Mật khẩu" not in english


def test_proposal_page_in_both_languages_including_engine_reasons(world: World, db: Any) -> None:
    from app.models import Proposal
    from workflow import operations

    # submitted first: the centre does not see a draft (docs/privacy.md)
    row = db.get(Proposal, world.own.id)
    attach(world.app, db, row, world.users["applicant_own"])
    operations.fire(db, row, "submit", world.users["applicant_own"].actor())
    db.commit()
    client = world.client("centre")
    url = f"/proposals/{world.own.id}"
    vietnamese = client.get(url).get_data(as_text=True)
    assert "Lịch sử xử lý" in vietnamese and "Huyện thẩm tra" in vietnamese and "Cần vai trò" in vietnamese
    client.post("/language", data={"lang": "en", "next": url, "csrf_token": token(client)})
    english = client.get(url).get_data(as_text=True)
    assert "History" in english and "District review" in english and "Needs the role" in english
    assert "Huyện thẩm tra" not in english
    assert "Lịch sử xử lý" not in english


def test_language_choice_is_remembered_for_the_user(world: World) -> None:
    client = world.client("auditor")
    client.post("/language", data={"lang": "en", "next": "/my-work", "csrf_token": token(client)})
    fresh = world.client("auditor")  # a new browser: the choice comes from the user record
    assert 'lang="en"' in fresh.get("/my-work").get_data(as_text=True)


def test_an_unknown_language_is_refused(client: Any) -> None:
    response = client.post("/language", data={"lang": "fr", "csrf_token": token(client)})
    assert response.status_code == 400


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_catalogue_is_complete(lang: str) -> None:
    with (CATALOGUES / lang / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        catalogue = read_po(handle)
    empty = [m.id for m in catalogue if m.id and not m.string]
    assert not empty, f"untranslated in {lang}: {empty}"
    assert len(catalogue) > 100


def test_vietnamese_translations_differ_from_the_english_source() -> None:
    with (CATALOGUES / "vi" / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        catalogue = read_po(handle)
    same = [m.id for m in catalogue if m.id and m.string == m.id]
    assert len(same) < 3, same


def test_formats() -> None:
    assert vnd(1_250_000_000) == "1.250.000.000 ₫"
    assert vnd(0) == "0 ₫"
    late_evening_utc = dt.datetime(2025, 12, 31, 18, 30, tzinfo=dt.UTC)
    assert date(late_evening_utc) == "01/01/2026"  # already New Year's Day in Hà Nội
    assert datetime(late_evening_utc) == "01/01/2026 01:30"
    assert date(dt.datetime(2025, 12, 31, 18, 30)) == "01/01/2026"  # naive values are UTC (SQLite)


def test_working_days_skip_weekends_and_vietnamese_holidays() -> None:
    friday = dt.date(2025, 8, 29)
    # Sat 30/8 and Sun 31/8 are weekend, 1–2/9 National Day holidays: 3 working days later is Fri 5/9
    assert add_working_days(friday, 3) == dt.date(2025, 9, 5)
    assert add_working_days(dt.date(2026, 3, 2), 5) == dt.date(2026, 3, 9)  # an ordinary week
