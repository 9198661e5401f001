"""Declared notices reach the right people and nobody else, in their language; a rolled-back or refused action
writes nothing; domain actions notify; preferences turn e-mail off except for statutory notices."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import OTHER_COMMUNE
from sqlalchemy import select

from app.actions import perform
from app.implementation import services as implementation
from app.models import Notification, NotificationPreference
from app.models.notifications import OFF, PENDING, SENT
from tests.notifications.conftest import address
from tests.stages.conftest import actor, attach
from workflow.errors import Refused

BOTH = pytest.mark.parametrize("app", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)],
                               indirect=True)


@pytest.fixture
def app(request: Any, tmp_path: Any) -> Any:
    from tests.conftest import _make_app

    database = getattr(request, "param", "sqlite")
    application = _make_app(request.getfixturevalue(f"{database}_url"), tmp_path)
    yield application
    application.extensions["db_engine"].dispose()


def notices(db: Any, proposal: Any, key: str | None = None) -> dict[int, set[str]]:
    """user id -> keys of the proposal's notices."""
    stmt = select(Notification.user_id, Notification.key).where(Notification.proposal_id == proposal.id)
    if key:
        stmt = stmt.where(Notification.key == key)
    out: dict[int, set[str]] = {}
    for user_id, k in db.execute(stmt):
        out.setdefault(user_id, set()).add(k)
    db.commit()
    return out


@BOTH
def test_each_notice_reaches_the_scoped_roles_and_nobody_else(db, mailable, walk, make_proposal, make_user):
    people = mailable
    other_commune = make_user("can_bo_xa_khac", "commune_officer", unit_code=OTHER_COMMUNE)
    other_applicant = make_user("ung_vien_khac", "applicant")  # another organisation
    proposal = make_proposal(people.applicant)
    attach(db, proposal, "business_registration", "quotes", "non_duplication")

    walk.fire(proposal, "submit", people.applicant)
    assert notices(db, proposal) == {people.commune.id: {"proposal_submitted"}}

    walk.fire(proposal, "forward", people.commune, comment="Đủ điều kiện")
    got = notices(db, proposal)
    assert got[people.applicant.id] == {"proposal_state_changed"}
    assert got[people.officer.id] == {"proposal_forwarded"}
    assert people.commune.id in got and got[people.commune.id] == {"proposal_submitted"}  # nothing new: the actor
    for outsider in (other_commune, other_applicant, people.director, people.auditor, *people.members):
        assert outsider.id not in got


@BOTH
def test_a_rolled_back_or_refused_action_writes_no_notice(db, mailable, walk, make_proposal):
    people = mailable
    proposal = make_proposal(people.applicant)
    attach(db, proposal, "business_registration", "quotes", "non_duplication")
    perform(db, proposal, "submit", actor(db, people.applicant), {})
    pending = db.scalars(select(Notification.key).where(Notification.proposal_id == proposal.id)).all()
    assert pending == ["proposal_submitted"]  # written in the action's own transaction...
    db.rollback()  # ...which fails (as a request that errors after the action would)
    db.expire_all()
    assert proposal.wf_state == "draft"
    assert notices(db, proposal) == {}

    with pytest.raises(Refused):
        perform(db, proposal, "forward", actor(db, people.commune), {"comment": "x"})
    db.rollback()
    assert notices(db, proposal) == {}


def test_the_rolled_back_submit_is_really_undone(db, mailable, make_proposal):
    """The control for the test above: the same submit, committed, does notify."""
    people = mailable
    proposal = make_proposal(people.applicant)
    attach(db, proposal, "business_registration", "quotes", "non_duplication")
    perform(db, proposal, "submit", actor(db, people.applicant), {})
    db.commit()
    assert notices(db, proposal) == {people.commune.id: {"proposal_submitted"}}


@BOTH
def test_email_in_the_recipients_language_with_text_html_and_link(db, mailable, walk, make_proposal, smtp, worker):
    people = mailable
    proposal = walk.to_appraisal(make_proposal(people.applicant))
    walk.fire(proposal, "return_for_revision", people.officer, comment="Thiếu báo giá")
    assert worker.drain() == 4  # submitted (commune), forwarded (applicant, centre), returned (applicant)

    to_applicant = smtp.recorder.to(address(people.applicant))  # reads English
    subjects = {str(m["Subject"]) for m in to_applicant}
    assert subjects == {f"[GrantFlow] Proposal {proposal.code}: Provincial appraisal",
                        f"[GrantFlow] Proposal {proposal.code} returned for revision"}
    returned = next(m for m in to_applicant if "returned" in str(m["Subject"]))
    text = returned.get_body(("plain",)).get_content()
    html = returned.get_body(("html",)).get_content()
    assert "Reason: Thiếu báo giá" in text and f"http://grantflow.test/proposals/{proposal.id}" in text
    assert f'href="http://grantflow.test/proposals/{proposal.id}"' in html and 'lang="en"' in html

    (to_commune,) = smtp.recorder.to(address(people.commune))  # Vietnamese, the default
    assert str(to_commune["Subject"]) == f"[GrantFlow] Đề án {proposal.code} chờ thẩm tra"
    assert "Hạn xử lý:" in to_commune.get_body(("plain",)).get_content()
    db.commit()
    assert set(db.scalars(select(Notification.email_status))) == {SENT}


def test_council_assignment_tells_the_assigned_members_only(db, mailable, walk, make_proposal):
    people = mailable
    proposal = walk.to_appraisal(make_proposal(people.applicant))
    walk.assign(proposal, people.members[:2])
    got = notices(db, proposal, "council_assigned")
    assert set(got) == {people.members[0].id, people.members[1].id}
    links = set(db.scalars(select(Notification.link).where(Notification.key == "council_assigned")))
    assert links == {f"/council/proposals/{proposal.id}"}  # the council page, which respects blind review
    walk.assign(proposal, [people.members[2]])
    rows = db.execute(select(Notification.user_id).where(Notification.key == "council_assigned")).all()
    assert sorted(r[0] for r in rows) == sorted(m.id for m in people.members[:3])  # once each, when assigned
    db.commit()


def test_stage_actions_notify(db, mailable, walk, make_proposal):
    people = mailable
    proposal = walk.to_implementing(make_proposal(people.applicant))
    walk.progress(proposal, 75, "2026-05")
    walk.advance(proposal, 50_000_000)
    implementation.request_change(db, proposal, actor(db, people.applicant),
                                  {"kind": "extension", "value": "2027-06-30", "reason": "Mưa lũ"})
    db.commit()
    got = notices(db, proposal)
    assert "progress_reported" in got[people.officer.id]
    assert {"advance_recorded", "proposal_decided"} <= got[people.applicant.id]
    assert got[people.director.id] == {"change_requested"}
    assert "change_requested" not in got.get(people.commune.id, set())


def test_preferences_turn_email_off_but_not_for_statutory_notices(db, mailable, walk, make_proposal):
    people = mailable
    db.add_all([NotificationPreference(user_id=people.applicant.id, key="proposal_state_changed", email=False),
                NotificationPreference(user_id=people.applicant.id, key="proposal_returned", email=False)])
    db.commit()
    proposal = walk.to_appraisal(make_proposal(people.applicant))
    walk.fire(proposal, "return_for_revision", people.officer, comment="Thiếu báo giá")
    status = dict(db.execute(select(Notification.key, Notification.email_status)
                             .where(Notification.user_id == people.applicant.id)).all())
    assert status == {"proposal_state_changed": OFF, "proposal_returned": PENDING}  # returned is statutory


def test_applicant_role_is_scoped_to_the_organisation(db, mailable, walk, make_proposal, make_user):
    people = mailable
    colleague = make_user("dong_nghiep", "applicant", organisation=db.get(type(people.applicant),
                                                                         people.applicant.id).organisation)
    outsider = make_user("ung_vien_ngoai", "applicant")
    officer_elsewhere = make_user("can_bo_xa_khac", "commune_officer", unit_code=OTHER_COMMUNE)
    proposal = walk.to_appraisal(make_proposal(people.applicant))
    got = notices(db, proposal, "proposal_state_changed")
    assert set(got) == {people.applicant.id, colleague.id}
    assert outsider.id not in got and officer_elsewhere.id not in notices(db, proposal)
