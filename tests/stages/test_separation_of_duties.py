"""Issue 14, finding 3: an officer never acts on their own organisation's proposal, and whoever forms a council
never sits on it. On SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from conftest import COMMUNE, PROVINCE, _make_app

from app.council import services as council
from app.models import Organisation
from tests.stages.conftest import actor, attach
from workflow.errors import Refused
from workflow.explain import SEPARATION


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def app(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    application = _make_app(request.getfixturevalue(f"{request.param}_url"), tmp_path)
    yield application
    application.extensions["db_engine"].dispose()


def test_an_officer_cannot_forward_their_own_organisations_proposal(db, people, walk, make_proposal, make_user):
    proposal = make_proposal(people.applicant)
    attach(db, proposal, "business_registration", "quotes", "non_duplication")
    walk.fire(proposal, "submit", people.applicant)
    insider = make_user("can_bo_xa_kiem_chu", [("applicant", None), ("commune_officer", COMMUNE)],
                        organisation=db.get(Organisation, people.applicant.organisation_id))
    with pytest.raises(Refused) as refused:
        walk.fire(proposal, "forward", insider, comment="Đạt")
    db.rollback()
    assert refused.value.kind == "permission"
    assert [r.code for r in refused.value.reasons] == [SEPARATION]
    assert "own organisation" in refused.value.reasons[0].message["en"]
    walk.fire(proposal, "forward", people.commune, comment="Đạt")  # any other officer of the commune may
    assert proposal.wf_state == "provincial_appraisal"


def test_whoever_forms_the_council_never_sits_on_it(db, people, walk, make_proposal, make_user):
    proposal = walk.to_appraisal(make_proposal(people.applicant))
    both = make_user("can_bo_kiem_hoi_dong", [("centre_officer", PROVINCE), ("council_member", PROVINCE)])
    with pytest.raises(Refused) as refused:  # assigning themselves
        council.assign_member(db, proposal, actor(db, both), {"user_id": both.id})
    db.rollback()
    assert "may not sit on it" in refused.value.reasons[0].message["en"]
    council.assign_member(db, proposal, actor(db, both), {"user_id": people.members[0].id})
    db.commit()
    with pytest.raises(Refused) as refused:  # another officer assigns the one who helped form it
        council.assign_member(db, proposal, actor(db, people.officer), {"user_id": both.id})
    db.rollback()
    assert "helped form the council" in refused.value.reasons[0].message["en"]
    member_officer = make_user("thanh_vien_kiem_can_bo", [("centre_officer", PROVINCE), ("council_member", PROVINCE)])
    council.assign_member(db, proposal, actor(db, people.officer), {"user_id": member_officer.id})
    db.commit()
    with pytest.raises(Refused) as refused:  # a member may not form the council they sit on
        council.assign_member(db, proposal, actor(db, member_officer), {"user_id": people.members[1].id})
    db.rollback()
    assert "A member of the appraisal council may not" in refused.value.reasons[0].message["en"]
    assert [r.code for r in refused.value.reasons] == [SEPARATION]


def _blind_definitions(tmp_path: Path, monkeypatch: Any) -> None:
    import shutil

    from workflow.registry import DEFAULT_DEFINITIONS

    folder = tmp_path / "definitions"
    shutil.copytree(DEFAULT_DEFINITIONS, folder)
    v2 = folder / "khuyen_cong" / "v2.yaml"
    v2.write_text(v2.read_text().replace("      veto: true\n", "      veto: true\n      blind: true\n"))
    monkeypatch.setenv("GRANTFLOW_DEFINITIONS", str(folder))


def test_blind_review_goes_with_the_council_seat_not_the_set_of_roles(tmp_path, monkeypatch, client, db, people,
                                                                     walk, make_proposal, make_user):
    """Finding 2: a member who also holds another grant (here: director) is still blind on that council; a
    council-only member sees only the proposals assigned to them."""
    from conftest import login

    _blind_definitions(tmp_path, monkeypatch)
    proposal = walk.to_appraisal(make_proposal(people.applicant, version=2))
    unassigned = walk.to_appraisal(make_proposal(people.applicant, version=2))
    director_member = make_user("giam_doc_kiem_hoi_dong", [("director", PROVINCE), ("council_member", PROVINCE)])
    walk.assign(proposal, [director_member, people.members[0]])
    name = proposal.organisation.name
    login(client, director_member.username)
    page = client.get(f"/council/proposals/{proposal.id}").get_data(as_text=True)
    assert name not in page and "(ẩn danh" in page
    assert client.get(f"/proposals/{proposal.id}").status_code == 404  # not through the director grant either
    assert client.get(f"/proposals/{unassigned.id}").status_code == 200  # not on that council: a director
    client.post("/logout", data={"csrf_token": __import__("conftest").csrf_token(client, "/council/")})
    login(client, people.members[0].username)
    assert client.get(f"/council/proposals/{proposal.id}").status_code == 200
    assert client.get(f"/council/proposals/{unassigned.id}").status_code == 404  # never assigned


def test_a_council_member_may_not_conclude_their_own_council(db, people, walk, make_proposal, make_user):
    """Council self-dealing: an officer who sits on the council (recused or not) may not shortlist, reject or
    return the proposal it appraised; the refusal is in Vietnamese first and recorded in the trail."""
    from sqlalchemy import select

    from app.models import User
    from workflow.audit import AuditEvent

    proposal = walk.to_appraisal(make_proposal(people.applicant))
    sitting = make_user("can_bo_ngoi_hoi_dong", [("centre_officer", PROVINCE), ("council_member", PROVINCE)])
    walk.assign(proposal, [sitting, *people.members[:4]])
    for m in [sitting, *people.members[:4]]:
        walk.score(proposal, m)
    compiled = __import__("app.common.rules", fromlist=["compiled_for"]).compiled_for(proposal)
    offered = {a.trigger for a in compiled.allowed_actions(proposal, actor(db, sitting), session=db)}
    assert not offered & {"shortlist", "reject", "return_for_revision"}
    for trigger in ("shortlist", "reject", "return_for_revision"):
        with pytest.raises(Refused) as refused:
            walk.fire(proposal, trigger, sitting, comment="Tự kết luận")
        db.rollback()
        reasons = refused.value.reasons
        assert [r.code for r in reasons] == [SEPARATION], trigger
        assert reasons[0].message["vi"].startswith("Thành viên hội đồng thẩm định không được")
    refusals = db.scalars(select(AuditEvent).where(AuditEvent.subject_id == str(proposal.id),
                                                  AuditEvent.outcome == "refused",
                                                  AuditEvent.actor_id == str(sitting.id))).all()
    assert sorted(e.action for e in refusals) == ["reject", "return_for_revision", "shortlist"]
    assert all(e.reasons[0]["code"] == SEPARATION for e in refusals)
    # Recusing does not clear the seat: whoever sat on the council never concludes it.
    council.recuse(db, proposal, actor(db, sitting), {"kind": "recusal", "reason": "Bận"})
    db.commit()
    with pytest.raises(Refused):
        walk.fire(proposal, "shortlist", db.get(User, sitting.id), comment="Đạt")
    db.rollback()
    walk.fire(proposal, "shortlist", people.officer, comment="Đạt")  # an officer off the council may
    assert proposal.wf_state == "shortlisted"


def test_a_council_member_may_not_confirm_priority_declared_by_the_definition(db, people, walk, make_proposal,
                                                                              make_user):
    from app.rounds import priority
    from workflow.registry import default_registry

    proposal = walk.to_appraisal(make_proposal(people.applicant), confirm_priority=False)
    state = default_registry().for_subject(proposal).states[proposal.wf_state]
    assert state.council is not None and "confirm_priority" in (state.council.members_may_not or ())
    both = make_user("can_bo_ngoi_hoi_dong", [("centre_officer", PROVINCE), ("council_member", PROVINCE)])
    council.assign_member(db, proposal, actor(db, people.officer), {"user_id": both.id})
    db.commit()
    flags = {"priority_region": "false", "priority_sector": "false"}
    with pytest.raises(Refused) as refused:
        priority.confirm_priority(db, proposal, actor(db, both), flags)
    db.rollback()
    assert refused.value.kind == "permission"
    assert [r.code for r in refused.value.reasons] == [SEPARATION]
    priority.confirm_priority(db, proposal, actor(db, people.officer), flags)  # an officer off the council may
    db.commit()
    assert proposal.priority_confirmed_at is not None
