"""Progress, the advance rule, change requests, acceptance records, settlement, termination, evaluation."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import func, select

from app.implementation import services as implementation
from app.models import Advance, ChangeRequest, Funding, ProgressReport
from app.models.proposals import ATTACHMENT_KINDS
from tests.stages.conftest import actor, attach
from workflow.audit import AuditEvent
from workflow.errors import InvalidInput, Refused

MACHINERY_RECORDS = ("acceptance_record", "purchase_contract", "contract_liquidation", "invoices",
                     "counterpart_proof")


def funding_row(db: Any, proposal: Any) -> Funding:
    row = db.scalar(select(Funding).where(Funding.proposal_id == proposal.id))
    db.refresh(row)
    return row


def test_contract_terms_are_recorded(db, people, walk, make_proposal):
    proposal = walk.to_implementing(make_proposal(people.applicant, duration_months=10))
    row = funding_row(db, proposal)
    assert (row.contract_number, row.contract_date, row.end_date) == ("HĐ 45/2026", dt.date(2026, 3, 15),
                                                                      dt.date(2027, 1, 15))


def test_machinery_advances_need_progress_above_70_and_stay_within_70_percent(db, people, walk, make_proposal):
    proposal = walk.to_implementing(make_proposal(people.applicant))  # machinery, 190 m approved
    with pytest.raises(Refused) as early:
        walk.advance(proposal, 50_000_000)
    db.rollback()
    assert early.value.kind == "guard" and "70%" in early.value.reasons[0].message["en"]
    walk.progress(proposal, 70, "2026-05")
    with pytest.raises(Refused):  # 70 is not above 70
        walk.advance(proposal, 50_000_000)
    db.rollback()
    walk.progress(proposal, 75, "2026-06")
    walk.advance(proposal, 100_000_000)
    with pytest.raises(Refused) as over:  # limit 133 m: 33 m left
        walk.advance(proposal, 33_000_001)
    db.rollback()
    assert "33.000.000" in over.value.reasons[0].message["vi"]
    walk.advance(proposal, 33_000_000)
    assert implementation.advanced_total(db, proposal.id) == 133_000_000
    assert db.scalar(select(func.count()).select_from(Advance)) == 2


def test_other_categories_may_be_advanced_before_progress(db, people, walk, make_proposal):
    proposal = walk.to_implementing(make_proposal(people.applicant, category="demonstration",
                                                  total_cost=1_000_000_000, requested_support=250_000_000))
    walk.advance(proposal, 175_000_000)
    with pytest.raises(Refused):
        walk.advance(proposal, 1)
    db.rollback()


@pytest.mark.parametrize("amount", [-1, 0, "abc"])
def test_bad_advance_amounts_store_nothing(db, people, walk, make_proposal, amount):
    proposal = walk.to_implementing(make_proposal(people.applicant, category="demonstration",
                                                  total_cost=1_000_000_000, requested_support=250_000_000))
    with pytest.raises(InvalidInput) as invalid:
        walk.advance(proposal, amount)
    db.rollback()
    assert "amount" in invalid.value.errors
    assert db.scalar(select(func.count()).select_from(Advance)) == 0


def test_progress_is_monthly_and_only_from_the_applicant(db, people, walk, make_proposal):
    proposal = walk.to_implementing(make_proposal(people.applicant))
    walk.progress(proposal, 30, "2026-04")
    with pytest.raises(Refused):
        walk.progress(proposal, 40, "2026-04")
    db.rollback()
    with pytest.raises(InvalidInput):
        walk.progress(proposal, 101, "2026-05")
    db.rollback()
    with pytest.raises(InvalidInput):
        walk.progress(proposal, 40, "2026-13")
    db.rollback()
    with pytest.raises(Refused) as refused:
        implementation.report_progress(db, proposal, actor(db, people.officer), {"percent": 50})
    db.rollback()
    assert refused.value.kind == "permission"
    assert db.scalars(select(ProgressReport.percent)).all() == [30]
    assert proposal.progress_percent() == 30


def test_acceptance_needs_every_record_for_machinery(db, people, walk, make_proposal):
    proposal = walk.to_implementing(make_proposal(people.applicant))
    attach(db, proposal, "acceptance_record", "invoices")
    with pytest.raises(Refused) as refused:
        walk.accept(proposal)
    db.rollback()
    message = refused.value.reasons[0].message["en"]
    for kind in ("purchase_contract", "contract_liquidation", "counterpart_proof"):
        assert ATTACHMENT_KINDS[kind][1] in message  # named by title, never by code
    assert ATTACHMENT_KINDS["invoices"][1] not in message and "_" not in message
    attach(db, proposal, "purchase_contract", "contract_liquidation", "counterpart_proof")
    walk.accept(proposal)
    assert proposal.wf_state == "implemented"


@pytest.mark.parametrize(("category", "extra"), [
    ("cluster_planning", []), ("training", ["attendee_list"]), ("demonstration", ["attendance_list"]),
    ("brand_registration", ["brand_certificate"]),
])
def test_acceptance_documents_depend_on_the_category(db, people, walk, make_proposal, category, extra):
    proposal = walk.to_implementing(make_proposal(people.applicant, category=category, total_cost=60_000_000,
                                                  requested_support=15_000_000, counterpart_funds=45_000_000))
    assert proposal.acceptance_kinds_required() == ["acceptance_record", *extra]
    attach(db, proposal, "acceptance_record")
    if extra:
        with pytest.raises(Refused) as refused:
            walk.accept(proposal)
        db.rollback()
        assert ATTACHMENT_KINDS[extra[0]][1] in refused.value.reasons[0].message["en"]
        attach(db, proposal, *extra)
    walk.accept(proposal, on=dt.date(2026, 10, 5))
    row = funding_row(db, proposal)
    assert row.accepted_on == dt.date(2026, 10, 5)  # the committee's date, not the day of the click
    assert row.acceptance_members == ["Nguyễn Văn An", "Trần Thị Bình", "Lê Văn Cường"]
    assert implementation.settlement_due(proposal, row) == dt.date(2026, 10, 20)  # 15 days from the record


def test_settlement_and_evaluation_close_the_books(db, people, walk, make_proposal):
    proposal = make_proposal(people.applicant)
    envelope = walk.envelope(1_000_000_000)
    walk.to_implementing(proposal, envelope)
    walk.progress(proposal, 80, "2026-07")
    walk.advance(proposal, 120_000_000)
    attach(db, proposal, *MACHINERY_RECORDS)
    walk.accept(proposal)
    with pytest.raises(InvalidInput) as invalid:
        walk.fire(proposal, "settle", people.officer, disbursed_total=190_000_001, refund_amount=120_000_001)
    db.rollback()
    assert set(invalid.value.errors) == {"disbursed_total", "refund_amount"}
    walk.fire(proposal, "settle", people.officer, disbursed_total=180_000_000, refund_amount=0)
    db.refresh(envelope)
    assert envelope.committed == 180_000_000  # the 10 m not disbursed went back
    with pytest.raises(Refused) as refused:
        walk.fire(proposal, "evaluate", people.officer, evaluation_score=85, comment="Hiệu quả")
    db.rollback()
    assert "jobs_created" in refused.value.reasons[0].message["en"]
    walk.indicator(proposal, "jobs_created", target=5, actual=6)
    walk.indicator(proposal, "output_increase", target=30, actual=35)
    walk.indicator(proposal, "machine_in_use", actual="yes")
    with pytest.raises(InvalidInput):
        walk.indicator(proposal, "revenue_change")
    db.rollback()
    with pytest.raises(InvalidInput):
        walk.indicator(proposal, "jobs_created", actual=-3)
    db.rollback()
    walk.indicator(proposal, "revenue_change", actual=-10)
    walk.fire(proposal, "evaluate", people.officer, evaluation_score=85, comment="Hiệu quả")
    assert proposal.wf_state == "evaluated"
    row = funding_row(db, proposal)
    assert (row.disbursed_total, row.evaluation_score) == (180_000_000, 85)
    assert sorted(proposal.recorded_indicators()) == ["jobs_created", "machine_in_use", "output_increase",
                                                      "revenue_change"]


def test_change_requests_need_the_director_and_are_versioned(db, people, walk, make_proposal):
    proposal = make_proposal(people.applicant, total_cost=400_000_000, requested_support=150_000_000)
    envelope = walk.envelope(1_000_000_000)
    walk.to_implementing(proposal, envelope)
    applicant, director = actor(db, people.applicant), actor(db, people.director)
    implementation.request_change(db, proposal, applicant, {"kind": "amount", "value": 180_000_000,
                                                            "reason": "Giá máy tăng"})
    implementation.request_change(db, proposal, applicant, {"kind": "extension", "value": "2027-06-30",
                                                            "reason": "Chậm giao máy"})
    db.commit()
    amount, extension = db.scalars(select(ChangeRequest).order_by(ChangeRequest.id)).all()
    with pytest.raises(Refused) as refused:
        implementation.decide_change(db, proposal, applicant, amount.id, {"approve": True})
    db.rollback()
    assert refused.value.kind == "permission"
    implementation.decide_change(db, proposal, director, amount.id, {"approve": True, "comment": "Đồng ý"})
    implementation.decide_change(db, proposal, director, extension.id, {"approve": False})
    db.commit()
    row = funding_row(db, proposal)
    db.refresh(envelope)
    assert (row.approved_amount, row.terms_version, row.end_date) == (180_000_000, 2, dt.date(2027, 3, 15))
    assert envelope.committed == 180_000_000
    event = db.scalars(select(AuditEvent).where(AuditEvent.action == "approve_change",
                                           AuditEvent.outcome == "applied")).one()
    assert event.diff["approved_amount"] == [150_000_000, 180_000_000]
    with pytest.raises(Refused):  # decided already
        implementation.decide_change(db, proposal, director, amount.id, {"approve": True})
    db.rollback()
    implementation.request_change(db, proposal, applicant, {"kind": "amount", "value": 250_000_000,
                                                            "reason": "Thêm máy"})
    db.commit()
    above_cap = db.scalars(select(ChangeRequest).order_by(ChangeRequest.id.desc())).first()
    with pytest.raises(Refused) as capped:
        implementation.decide_change(db, proposal, director, above_cap.id, {"approve": True})
    db.rollback()
    assert "cap" in capped.value.reasons[0].message["en"]


def test_termination_gives_unadvanced_money_back(db, people, walk, make_proposal):
    proposal = make_proposal(people.applicant, category="demonstration", total_cost=1_000_000_000,
                             requested_support=250_000_000)
    envelope = walk.envelope(1_000_000_000)
    walk.to_implementing(proposal, envelope)
    walk.advance(proposal, 50_000_000)
    walk.fire(proposal, "terminate", people.director, reason="Cơ sở ngừng sản xuất")
    db.refresh(envelope)
    assert proposal.wf_state == "terminated" and envelope.committed == 50_000_000


def test_a_contract_date_whose_end_passes_year_9999_is_refused_not_a_crash(db, people, walk, make_proposal):
    proposal = walk.to_shortlist(make_proposal(people.applicant))
    walk.fund(proposal, walk.envelope())
    with pytest.raises(InvalidInput) as caught:
        walk.fire(proposal, "sign_contract", people.officer, contract_number="HĐ 1", contract_date="9999-12-31")
    assert "contract_date" in caught.value.errors
    db.rollback()
    assert (funding_row(db, proposal).contract_date, proposal.wf_state) == (None, "funded")
