"""Council membership, recusal, quorum and score sheets, on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from conftest import _make_app
from sqlalchemy import func, select

from app.council import services as council
from app.models import CouncilMember, Organisation, ScoreSheet
from tests.stages.conftest import FULL, GOOD, actor
from workflow.audit import AuditEvent
from workflow.errors import InvalidInput, Refused


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def app(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    application = _make_app(request.getfixturevalue(f"{request.param}_url"), tmp_path)
    yield application
    application.extensions["db_engine"].dispose()


def events(db: Any, proposal: Any, action: str) -> list[AuditEvent]:
    return list(db.scalars(select(AuditEvent).where(AuditEvent.subject_id == str(proposal.id),
                                                    AuditEvent.action == action,
                                                    AuditEvent.outcome == "applied")))


def test_five_members_one_recused_reach_quorum_and_shortlist(db, people, walk, make_proposal):
    proposal = walk.to_appraisal(make_proposal(people.applicant))
    walk.assign(proposal, people.members[:5])
    recused = people.members[4]
    council.recuse(db, proposal, actor(db, recused), {"kind": "conflict", "reason": "Họ hàng với chủ cơ sở"})
    db.commit()
    for m in people.members[:3]:
        walk.score(proposal, m)
    with pytest.raises(Refused) as refused:  # 3 of 5: below the 2/3 quorum (4)
        walk.fire(proposal, "shortlist", people.officer, comment="Đạt")
    db.rollback()
    assert "3" in refused.value.reasons[0].message["en"] and "4" in refused.value.reasons[0].message["en"]
    walk.score(proposal, people.members[3])
    walk.fire(proposal, "shortlist", people.officer, comment="Đạt")
    assert proposal.wf_state == "shortlisted"
    result = council.council_result(db, proposal)
    assert (result.assigned, result.members, result.submitted) == (5, 4, 4)
    assert len(events(db, proposal, "assign_council_member")) == 5
    assert len(events(db, proposal, "declare_conflict")) == 1
    assert len(events(db, proposal, "submit_score_sheet")) == 4


def test_recused_member_cannot_score_and_nothing_is_stored(db, people, walk, make_proposal):
    proposal = walk.to_appraisal(make_proposal(people.applicant))
    walk.assign(proposal, people.members[:1])
    member = people.members[0]
    council.recuse(db, proposal, actor(db, member), {"kind": "recusal", "reason": "Bận công tác"})
    db.commit()
    version = proposal.wf_version
    with pytest.raises(Refused) as refused:
        walk.score(proposal, member)
    db.rollback()
    assert refused.value.kind == "permission"
    assert "recused" in refused.value.reasons[0].message["en"]
    assert db.scalar(select(func.count()).select_from(ScoreSheet)) == 0
    db.refresh(proposal)
    assert proposal.wf_version == version


def test_member_from_the_applicant_organisation_or_district_is_blocked(db, people, walk, make_proposal, make_user):
    proposal = walk.to_appraisal(make_proposal(people.applicant))
    insider = make_user("thanh_vien_noi_bo", "council_member", unit_code="19",
                        organisation=db.get(Organisation, people.applicant.organisation_id))
    local = make_user("thanh_vien_huyen", [("council_member", "19"), ("district_officer", "171")])
    for user in (insider, local):
        with pytest.raises(Refused) as refused:
            walk.assign(proposal, [user])
        db.rollback()
        assert refused.value.kind == "permission"
    assert db.scalar(select(func.count()).select_from(CouncilMember)) == 0


def test_only_the_centre_officer_assigns(db, people, walk, make_proposal):
    proposal = walk.to_appraisal(make_proposal(people.applicant))
    with pytest.raises(Refused) as refused:
        council.assign_member(db, proposal, actor(db, people.director), {"user_id": people.members[0].id})
    db.rollback()
    assert refused.value.kind == "permission"
    with pytest.raises(InvalidInput):  # not a council member
        council.assign_member(db, proposal, actor(db, people.officer), {"user_id": people.director.id})
    db.rollback()


def test_score_above_the_criterion_maximum_is_refused(db, people, walk, make_proposal):
    proposal = walk.to_appraisal(make_proposal(people.applicant))
    walk.assign(proposal, people.members[:1])
    with pytest.raises(InvalidInput) as invalid:
        walk.score(proposal, people.members[0], {**FULL, "links": 6})
    db.rollback()
    assert "points.links" in invalid.value.errors
    assert invalid.value.errors["points.links"]["en"] == "Must not be above 5"
    with pytest.raises(InvalidInput) as missing:
        walk.score(proposal, people.members[0], {"links": 5})
    db.rollback()
    assert "points.capacity" in missing.value.errors
    assert db.scalar(select(func.count()).select_from(ScoreSheet)) == 0


def test_a_replaced_sheet_keeps_the_old_version(db, people, walk, make_proposal):
    proposal = walk.to_appraisal(make_proposal(people.applicant))
    walk.assign(proposal, people.members[:1])
    walk.score(proposal, people.members[0], GOOD)
    walk.score(proposal, people.members[0], FULL)
    sheets = db.scalars(select(ScoreSheet).order_by(ScoreSheet.version)).all()
    assert [s.version for s in sheets] == [1, 2]
    assert [s.total for s in sheets] == [80, 100]
    assert council.council_result(db, proposal).average == 100 + 0  # only the current version counts
    assert len(events(db, proposal, "replace_score_sheet")) == 1


def test_veto_blocks_shortlisting(db, people, walk, make_proposal):
    proposal = walk.to_appraisal(make_proposal(people.applicant))
    walk.assign(proposal, people.members[:5])
    for i, m in enumerate(people.members[:5]):
        walk.score(proposal, m, FULL, not_eligible=(i == 0))
    with pytest.raises(Refused) as refused:
        walk.fire(proposal, "shortlist", people.officer, comment="Đạt")
    db.rollback()
    assert [r.subject for r in refused.value.reasons] == ["no_veto"]
    walk.fire(proposal, "reject", people.officer, reason="Không đủ điều kiện")
    assert proposal.wf_state == "rejected"


def test_sheets_are_visible_to_a_member_only_after_their_own(db, people, walk, make_proposal):
    proposal = walk.to_appraisal(make_proposal(people.applicant))
    walk.assign(proposal, people.members[:2])
    walk.score(proposal, people.members[0])
    first, second = (db.get(type(people.members[0]), m.id) for m in people.members[:2])
    assert council.may_see_sheets(db, proposal, first)
    assert not council.may_see_sheets(db, proposal, second)
    assert not council.may_see_sheets(db, proposal, db.get(type(first), people.applicant.id))
    assert council.may_see_sheets(db, proposal, db.get(type(first), people.officer.id))
