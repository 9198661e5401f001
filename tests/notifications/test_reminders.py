"""Deadline reminders, overdue notices and escalation fire on the right working day across Tết (frozen clock),
once, to the right people; the inbox shows and clears them."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from conftest import OTHER_COMMUNE, PASSWORD, csrf_token, login
from sqlalchemy import select

from app.deadlines import _vn_holidays
from app.models import Notification, NotificationPreference
from app.notifications.reminders import sweep
from tests.stages.conftest import attach
from workflow import operations

# v2 local_review: deadline 10 working days; reminders 2 working days before, escalation 3 working days after.
# Submitted Mon 25/1/2027. The holidays package lists Tết 2027 as Thu 4/2 - Wed 10/2 (with the weekend 6-7/2),
# so the 10 working days are 26-29/1, 1-3/2, 11/2, 12/2, 15/2: due Mon 15/2 (on the calendar alone: 8/2).
SUBMITTED = dt.datetime(2027, 1, 25, 2, 0, tzinfo=dt.UTC)  # 09:00 in Hà Nội
DUE = dt.date(2027, 2, 15)
REMINDER_DAY = dt.date(2027, 2, 11)  # 2 working days before 15/2: Thu 11/2 (-> Fri 12/2, Mon 15/2)
OVERDUE_DAY = dt.date(2027, 2, 16)  # the first working day after the deadline
ESCALATION_DAY = dt.date(2027, 2, 18)  # 3 working days after 15/2: 16, 17, 18/2


def test_the_expected_days_follow_the_published_holidays():
    holidays = _vn_holidays()
    tet = [dt.date(2027, 2, d) for d in (4, 5, 8, 9, 10)]
    assert all(day in holidays for day in tet)  # weekdays of Tết, per the package
    assert not any(day in holidays for day in (REMINDER_DAY, DUE, OVERDUE_DAY, ESCALATION_DAY))


@pytest.fixture
def submitted(db: Any, people: Any, walk: Any, make_proposal: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    proposal = make_proposal(people.applicant)
    attach(db, proposal, "business_registration", "quotes", "non_duplication")
    with monkeypatch.context() as frozen:
        frozen.setattr(operations, "utcnow", lambda: SUBMITTED)
        walk.fire(proposal, "submit", people.applicant)
    return proposal


def deadline_notices(db: Any) -> list[tuple[str, int]]:
    rows = db.execute(select(Notification.key, Notification.user_id)
                      .where(Notification.key.like("deadline_%")).order_by(Notification.id)).all()
    db.commit()
    return [tuple(r) for r in rows]


def test_reminder_overdue_and_escalation_on_the_right_working_days_across_tet(db, people, submitted, make_user):
    make_user("can_bo_xa_khac", "commune_officer", unit_code=OTHER_COMMUNE)
    fired: dict[dt.date, list[tuple[str, int]]] = {}
    day = dt.date(2027, 1, 25)
    while day <= dt.date(2027, 2, 26):
        before = deadline_notices(db)
        sweep(db, today=day)
        db.commit()
        new = deadline_notices(db)[len(before):]
        if new:
            fired[day] = new
        day += dt.timedelta(days=1)
    assert fired == {
        REMINDER_DAY: [("deadline_reminder", people.commune.id)],
        OVERDUE_DAY: [("deadline_overdue", people.commune.id)],
        ESCALATION_DAY: [("deadline_escalation", people.director.id)],
    }
    reminder = db.scalar(select(Notification).where(Notification.key == "deadline_reminder"))
    assert reminder.params["due"] == DUE.strftime("%d/%m/%Y")


def test_the_sweep_is_idempotent_and_survives_a_restart(db, people, submitted):
    """A second sweep the same day (another worker, or a restarted one) adds nothing; a sweep that was down on
    the overdue day catches up once on the next."""
    assert sweep(db, today=REMINDER_DAY) == 1
    db.commit()
    sweep(db, today=REMINDER_DAY)
    db.commit()
    sweep(db, today=ESCALATION_DAY)  # the worker was down 12/2-17/2
    db.commit()
    sweep(db, today=ESCALATION_DAY + dt.timedelta(days=1))
    db.commit()
    keys = sorted(k for k, _ in deadline_notices(db))
    assert keys == ["deadline_escalation", "deadline_overdue", "deadline_reminder"]


def test_no_deadline_notice_on_a_tet_holiday(db, submitted):
    for day in (dt.date(2027, 2, 4), dt.date(2027, 2, 9), dt.date(2027, 2, 13)):  # Tết, Tết, a Saturday
        assert sweep(db, today=day) == 0
    db.commit()
    assert deadline_notices(db) == []


def test_inbox_shows_and_clears_unread_notices(app, db, people, walk, make_proposal):
    proposal = make_proposal(people.applicant)
    attach(db, proposal, "business_registration", "quotes", "non_duplication")
    walk.fire(proposal, "submit", people.applicant)
    walk.fire(proposal, "return_for_revision", people.commune, comment="Bổ sung báo giá")
    client = app.test_client()
    login(client, "ung_vien", PASSWORD)
    page = client.get("/notifications/").get_data(as_text=True)
    assert 'id="unread-count">1<' in page
    (notice_id,) = db.scalars(select(Notification.id).where(Notification.user_id == people.applicant.id))
    db.commit()
    assert f'id="notice-{notice_id}" class="unread"' in page and "Bổ sung báo giá" in page
    token = csrf_token(client, "/notifications/")
    opened = client.post(f"/notifications/{notice_id}/open", data={"csrf_token": token})
    assert opened.status_code == 302 and opened.headers["Location"].endswith(f"/proposals/{proposal.id}")
    page = client.get("/notifications/").get_data(as_text=True)
    assert 'id="unread-count"' not in page and f'id="notice-{notice_id}" class="read"' in page

    other = app.test_client()  # someone else's notice is not theirs to open
    login(other, "can_bo_xa", PASSWORD)
    assert other.post(f"/notifications/{notice_id}/open",
                      data={"csrf_token": csrf_token(other, "/notifications/")}).status_code == 404

    walk.fire(proposal, "submit", people.applicant)
    page = other.get("/notifications/").get_data(as_text=True)
    assert 'id="unread-count">2<' in page  # submitted twice
    assert other.post("/notifications/read-all",
                      data={"csrf_token": csrf_token(other, "/notifications/")}).status_code == 302
    assert 'id="unread-count"' not in other.get("/notifications/").get_data(as_text=True)


def test_preferences_page_saves_and_lists_statutory_notices_as_always_on(app, db, people):
    client = app.test_client()
    login(client, "ung_vien", PASSWORD)
    page = client.get("/notifications/preferences").get_data(as_text=True)
    assert 'id="statutory-proposal_returned"' in page and 'id="email-proposal_returned"' not in page
    token = csrf_token(client, "/notifications/preferences")
    client.post("/notifications/preferences", data={"csrf_token": token, "email": ["advance_recorded"]})
    page = client.get("/notifications/preferences").get_data(as_text=True)
    assert 'id="email-advance_recorded" checked' in page
    assert 'id="email-proposal_state_changed" ' in page and 'id="email-proposal_state_changed" checked' not in page
    off = set(db.scalars(select(NotificationPreference.key).where(
        NotificationPreference.user_id == people.applicant.id, NotificationPreference.email.is_(False))))
    assert "proposal_state_changed" in off and "advance_recorded" not in off and "proposal_returned" not in off
