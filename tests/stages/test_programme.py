"""The programme as run in 2026: a whole local plan round, a national-fund proposal through its path, priority
confirmed by an officer, returns counted per stage, acceptance by a committee."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from conftest import PROVINCE, _make_app
from sqlalchemy import select

from app import deadlines
from app.common.rules import msg
from app.council import services as council
from app.funding import services as funding
from app.models import Funding, PlanRound, Unit, User
from app.rounds import services as rounds
from tests.stages.conftest import GOOD, actor, attach
from workflow.audit import AuditEvent, verify_chain
from workflow.errors import InvalidInput, Refused

DOSSIER = ("business_registration", "quotes", "non_duplication")
MACHINERY_RECORDS = ("acceptance_record", "purchase_contract", "contract_liquidation", "invoices",
                     "counterpart_proof")


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def app(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    application = _make_app(request.getfixturevalue(f"{request.param}_url"), tmp_path)
    yield application
    application.extensions["db_engine"].dispose()


@pytest.fixture
def clock(monkeypatch):
    """The local date the registration windows are judged by (the only thing a walk through a year must move)."""
    now = {"today": dt.date(2025, 6, 15)}
    monkeypatch.setattr(rounds, "local_today", lambda: now["today"])
    monkeypatch.setattr(deadlines, "today", lambda: now["today"])  # the round's guard facts

    def set_to(day: dt.date) -> None:
        now["today"] = day

    return set_to


def open_round(db, people, fund: str = "local") -> PlanRound:
    plan_round = rounds.open_round(db, db.get(User, people.officer.id), PROVINCE, {
        "fund": fund, "plan_year": 2026, "opens_on": "2025-06-01", "closes_on": "2025-07-31",
        "note": "Kế hoạch khuyến công năm 2026"})
    db.commit()
    return plan_round


def fire_round(db, plan_round, trigger, user, **inputs):
    event = rounds.fire_round(db, plan_round, trigger, actor(db, user), inputs)
    db.commit()
    return event


def approve_plan(db, people, plan_round, clock) -> None:
    """Compile, submit, attach the decision and record the approval (decision dated before today)."""
    rounds.compile_plan(db, plan_round, actor(db, people.officer))
    db.commit()
    fire_round(db, plan_round, "submit_plan", people.director, comment="Trình UBND tỉnh")
    clock(dt.date(2025, 12, 20))
    rounds.attach_decision(db, plan_round, actor(db, people.officer), "qd.pdf", "QĐ 2345-UBND.pdf", "ab" * 32)
    db.commit()
    fire_round(db, plan_round, "record_approval", people.director, decision_number="2345/QĐ-UBND",
               decision_date="2025-12-15", approved_total=plan_round.plan_total)


def council_passes(db, walk, people, proposal) -> None:
    walk.assign(proposal, people.members[:5])
    for m in people.members[:5]:
        walk.score(proposal, m, GOOD)


def test_a_whole_2026_local_round(db, people, walk, make_proposal, clock):
    plan_round = open_round(db, people)
    assert (plan_round.wf_state, plan_round.fund, plan_round.plan_year) == ("registration", "local", 2026)

    # Filed into the open round: the province's local round of the proposal's year.
    ordinary = make_proposal(people.applicant, title="Máy sao chè")
    remote = make_proposal(people.applicant, title="Máy chế biến gỗ", priority_region=True,
                           requested_support=150_000_000)
    late = make_proposal(people.applicant, title="Nộp muộn")
    assert {p.round_id for p in (ordinary, remote, late)} == {plan_round.id}
    assert (ordinary.fund, ordinary.wf_workflow, ordinary.wf_workflow_version) == ("local", "khuyen-cong-local", 3)
    for p in (ordinary, remote):
        walk.to_appraisal(p)

    # The deadline passes: late filing is refused with the reason and the date.
    clock(dt.date(2025, 8, 1))
    attach(db, late, *DOSSIER)
    with pytest.raises(Refused) as refused:
        walk.fire(late, "submit", people.applicant)
    db.rollback()
    assert "đã hết hạn nhận hồ sơ ngày 31/07/2025" in refused.value.reasons[0].message["vi"]
    assert late.wf_state == "draft"
    fire_round(db, plan_round, "close_registration", people.officer)
    assert plan_round.wf_state == "compiling"

    # Council, then the plan list: ranked for allocation (priority region first), grouped, totals.
    for p in (ordinary, remote):
        council_passes(db, walk, people, p)
        walk.score(p, people.members[0], {**GOOD, "links": 5} if p is ordinary else GOOD)  # ordinary scores more
        walk.fire(p, "shortlist", people.officer, comment="Đạt")
    plan = rounds.plan_list(db, plan_round)
    [group] = plan.groups
    assert group.category == "machinery" and [line.proposal.id for line in group.lines] == [remote.id, ordinary.id]
    assert plan.total == group.total == 190_000_000 + 150_000_000 and plan.count == 2

    with pytest.raises(Refused):  # the Director submits only a compiled plan
        fire_round(db, plan_round, "submit_plan", people.director, comment="Trình")
    db.rollback()

    # No funding decision before the People's Committee's approval is recorded.
    envelope = walk.envelope(3_500_000_000)  # an envelope outside the plan
    with pytest.raises(InvalidInput) as unapproved:
        walk.fund(remote, envelope)
    db.rollback()
    assert "chưa được UBND tỉnh phê duyệt" in unapproved.value.errors["envelope_id"]["vi"]

    rounds.compile_plan(db, plan_round, actor(db, people.officer))
    db.commit()
    fire_round(db, plan_round, "submit_plan", people.director, comment="Trình UBND tỉnh")
    with pytest.raises(Refused) as no_file:
        fire_round(db, plan_round, "record_approval", people.director, decision_number="2345/QĐ-UBND",
                   decision_date="2025-12-15", approved_total=340_000_000)
    db.rollback()
    assert no_file.value.reasons[0].subject == "approval_attached"
    clock(dt.date(2025, 12, 20))
    rounds.attach_decision(db, plan_round, actor(db, people.officer), "qd.pdf", "QĐ 2345-UBND.pdf", "ab" * 32)
    db.commit()
    with pytest.raises(InvalidInput) as future:
        fire_round(db, plan_round, "record_approval", people.director, decision_number="2345/QĐ-UBND",
                   decision_date="2025-12-21", approved_total=340_000_000)
    db.rollback()
    assert "decision_date" in future.value.errors
    fire_round(db, plan_round, "record_approval", people.director, decision_number="2345/QĐ-UBND",
               decision_date="2025-12-15", approved_total=340_000_000)
    assert (plan_round.wf_state, plan_round.decision_number, plan_round.approved_total) == (
        "approved", "2345/QĐ-UBND", 340_000_000)

    # Envelopes belong to the approved plan and carry its decision; the outside envelope is refused.
    with pytest.raises(InvalidInput) as over:
        funding.create_envelope(db, db.get(User, people.officer.id), PROVINCE,
                                {"round_id": plan_round.id, "amount": 340_000_001})
    db.rollback()
    assert "amount" in over.value.errors
    plan_envelope = funding.create_envelope(db, db.get(User, people.officer.id), PROVINCE,
                                            {"round_id": plan_round.id, "amount": 340_000_000})
    db.commit()
    assert "2345/QĐ-UBND" in plan_envelope.fund and plan_envelope.round_id == plan_round.id
    with pytest.raises(InvalidInput) as outside:
        walk.fund(remote, envelope)
    db.rollback()
    assert "không thuộc kế hoạch" in outside.value.errors["envelope_id"]["vi"]

    # Funding, implementation, the committee's acceptance, settlement and evaluation.
    for p in (remote, ordinary):
        walk.fund(p, plan_envelope)
    proposal = remote
    walk.fire(proposal, "sign_contract", people.officer, contract_number="HĐ 7/2026", contract_date="2026-03-15")
    walk.progress(proposal, 80, "2026-07")
    walk.advance(proposal, 100_000_000)
    attach(db, proposal, *MACHINERY_RECORDS)
    walk.accept(proposal, on=dt.date(2026, 9, 10))
    walk.fire(proposal, "settle", people.officer, disbursed_total=150_000_000, refund_amount=0)
    for key, value in (("jobs_created", 6), ("output_increase", 25), ("machine_in_use", True),
                       ("revenue_change", 15)):
        walk.indicator(proposal, key, actual=value)
    walk.fire(proposal, "evaluate", people.officer, evaluation_score=85, comment="Hiệu quả")
    assert proposal.wf_state == "evaluated"
    row = db.scalar(select(Funding).where(Funding.proposal_id == proposal.id))
    assert row.accepted_on == dt.date(2026, 9, 10) and row.envelope_id == plan_envelope.id

    fire_round(db, plan_round, "close_round", people.director, comment="Kết thúc kế hoạch năm 2026")
    actions = [e.action for e in db.scalars(select(AuditEvent).where(
        AuditEvent.subject_type == "plan_round", AuditEvent.subject_id == str(plan_round.id),
        AuditEvent.outcome.in_(("created", "applied"))).order_by(AuditEvent.seq))]
    assert actions == ["create", "close_registration", "compile_plan", "submit_plan", "attach_decision",
                       "record_approval", "close_round"]
    db.commit()
    assert verify_chain(db).ok


def test_a_national_fund_proposal_follows_its_own_path(db, people, walk, make_proposal, clock):
    national = open_round(db, people, fund="national")
    open_round(db, people)  # the local round of the same year is another round
    proposal = make_proposal(people.applicant, round_id=national.id)
    assert (proposal.fund, proposal.wf_workflow, proposal.round_id) == ("national", "khuyen-cong-national",
                                                                          national.id)
    attach(db, proposal, *DOSSIER)
    walk.fire(proposal, "submit", people.applicant)
    assert proposal.wf_state == "provincial_appraisal"  # no commune review on the national path
    walk.confirm_priority(proposal)
    council_passes(db, walk, people, proposal)
    walk.fire(proposal, "shortlist", people.officer, comment="Tỉnh thẩm định đạt")
    walk.fire(proposal, "register_with_ministry", people.director, registration_number="215/SCT-KC",
              registration_date="2025-08-20")
    assert proposal.wf_state == "ministry_appraisal"
    clock(dt.date(2025, 8, 1))
    fire_round(db, national, "close_registration", people.officer)
    approve_plan(db, people, national, clock)
    envelope = funding.create_envelope(db, db.get(User, people.officer.id), PROVINCE,
                                       {"round_id": national.id, "amount": 190_000_000})
    db.commit()
    walk.fire(proposal, "approve_funding", people.director, approved_amount=190_000_000,
              decision_number="1234/QĐ-BCT", decision_date="2026-01-10", envelope_id=envelope.id)
    walk.fire(proposal, "sign_contract", people.officer, contract_number="HĐ 3/2026", contract_date="2026-02-01")
    attach(db, proposal, *MACHINERY_RECORDS)
    walk.accept(proposal)
    walk.fire(proposal, "settle", people.officer, disbursed_total=190_000_000, refund_amount=0)
    for key, value in (("jobs_created", 4), ("output_increase", 20), ("machine_in_use", True),
                       ("revenue_change", 10)):
        walk.indicator(proposal, key, actual=value)
    walk.fire(proposal, "evaluate", people.officer, evaluation_score=80, comment="Đạt")
    assert proposal.wf_state == "evaluated"
    events = [(e.action, (e.inputs or {}).get("decision_number") or (e.inputs or {}).get("registration_number"))
              for e in db.scalars(select(AuditEvent).where(AuditEvent.subject_type == "proposal",
                                                            AuditEvent.subject_id == str(proposal.id),
                                                            AuditEvent.outcome == "applied"))]
    db.commit()
    assert ("register_with_ministry", "215/SCT-KC") in events and ("approve_funding", "1234/QĐ-BCT") in events


def test_priority_needs_an_officer_and_a_correction_is_audited(db, people, walk, make_proposal):
    proposal = walk.to_appraisal(make_proposal(people.applicant, priority_region=True, priority_sector=True),
                                 confirm_priority=False)
    council_passes(db, walk, people, proposal)
    with pytest.raises(Refused) as refused:
        walk.fire(proposal, "shortlist", people.officer, comment="Đạt")
    db.rollback()
    assert refused.value.reasons[0].subject == "priority_confirmed"
    with pytest.raises(Refused):  # the applicant cannot confirm their own claim
        from app.rounds import priority
        priority.confirm_priority(db, proposal, actor(db, people.applicant),
                                  {"priority_region": True, "priority_sector": True})
    db.rollback()
    walk.confirm_priority(proposal, priority_sector=False)  # the sector claim does not hold
    assert (proposal.priority_region, proposal.priority_sector) == (True, False)
    event = db.scalar(select(AuditEvent).where(AuditEvent.subject_id == str(proposal.id),
                                               AuditEvent.action == "confirm_priority",
                                               AuditEvent.outcome == "applied"))
    db.commit()
    assert event.diff["priority_sector"] == [True, False] and event.diff["corrected"] is True
    walk.fire(proposal, "shortlist", people.officer, comment="Đạt")
    assert council.council_result(db, proposal).average == 80  # priority adds no points


def test_returns_are_counted_per_stage(db, people, walk, make_proposal):
    proposal = make_proposal(people.applicant)
    attach(db, proposal, *DOSSIER)
    for _ in range(2):  # the commune returns twice: its maximum
        walk.fire(proposal, "submit", people.applicant)
        walk.fire(proposal, "return_for_revision", people.commune, comment="Bổ sung")
    walk.fire(proposal, "submit", people.applicant)
    with pytest.raises(Refused):
        walk.fire(proposal, "return_for_revision", people.commune, comment="Lần ba")
    db.rollback()
    walk.fire(proposal, "forward", people.commune, comment="Đạt")
    for _ in range(2):  # the Centre still has its own two returns
        walk.fire(proposal, "return_for_revision", people.officer, comment="Bổ sung báo giá")
        walk.fire(proposal, "submit", people.applicant)
        walk.fire(proposal, "forward", people.commune, comment="Đạt")
    with pytest.raises(Refused) as third:
        walk.fire(proposal, "return_for_revision", people.officer, comment="Lần ba")
    db.rollback()
    assert third.value.reasons[0].subject == "max_times"


def test_acceptance_dated_in_the_future_is_refused(db, people, walk, make_proposal):
    proposal = walk.to_implementing(make_proposal(people.applicant))
    attach(db, proposal, *MACHINERY_RECORDS)
    tomorrow = dt.date.today() + dt.timedelta(days=2)
    for day, field in ((tomorrow, "acceptance_date"), (dt.date(2026, 3, 1), "acceptance_date")):
        with pytest.raises(InvalidInput) as invalid:  # the future, then before the contract (15/03/2026)
            walk.accept(proposal, on=day)
        db.rollback()
        assert field in invalid.value.errors
    with pytest.raises(InvalidInput) as twice:
        walk.fire(proposal, "accept", people.officer, comment="Đạt", acceptance_date="2026-11-20",
                  committee_members="Nguyễn Văn An\nNguyễn Văn An")
    db.rollback()
    assert twice.value.errors["committee_members"] == msg("Một thành viên được ghi hai lần", "A member is listed twice")
    assert proposal.wf_state == "implementing"


def test_eligibility_refusals_name_the_reason(db, people, walk, make_proposal):
    proposal = make_proposal(people.applicant)
    attach(db, proposal, *DOSSIER)
    proposal.organisation.kind = "state_enterprise"  # not a rural industrial facility
    db.commit()
    with pytest.raises(Refused) as refused:
        walk.fire(proposal, "submit", people.applicant)
    db.rollback()
    assert refused.value.reasons[0].subject == "eligible_beneficiary"
    assert "Thông tư 46/2012/TT-BCT, Điều 3 khoản 1" in refused.value.reasons[0].message["vi"]
    proposal.organisation.kind = "cooperative"
    unit = db.get(Unit, proposal.commune_code)
    unit.active = False  # a commune no longer in force
    db.commit()
    with pytest.raises(Refused) as moved:
        walk.fire(proposal, "submit", people.applicant)
    db.rollback()
    assert "xã, phường đang có hiệu lực" in moved.value.reasons[0].message["vi"]
    unit.active = True
    db.commit()
    walk.fire(proposal, "submit", people.applicant)
    assert proposal.wf_state == "local_review"
