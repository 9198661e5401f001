"""Budget envelopes, the funding decision, caps on submit, bulk decisions, and concurrency on PostgreSQL."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import sessionmaker

from app.actions import perform
from app.funding import services as funding
from app.models import BudgetEnvelope, Funding, Proposal, User
from tests.stages.conftest import Walk, actor
from workflow import operations
from workflow.audit import AuditEvent
from workflow.errors import Conflict, InvalidInput, Refused
from workflow.storage import create_db_engine


def applied(db: Any, action: str) -> list[AuditEvent]:
    return list(db.scalars(select(AuditEvent).where(AuditEvent.action == action, AuditEvent.outcome == "applied")))


def test_decision_commits_the_amount_against_the_envelope(db, people, walk, make_proposal):
    proposal = walk.to_shortlist(make_proposal(people.applicant))
    envelope = walk.envelope(1_000_000_000)
    walk.fund(proposal, envelope, 150_000_000)
    db.refresh(envelope)
    assert (envelope.committed, envelope.remaining) == (150_000_000, 850_000_000)
    row = db.scalar(select(Funding))
    assert (row.approved_amount, row.decision_number, str(row.decision_date)) == (150_000_000, "QĐ 123/QĐ-SCT",
                                                                                  "2026-03-01")
    assert proposal.wf_state == "funded"
    assert applied(db, "approve_funding")[0].inputs["approved_amount"] == 150_000_000


def test_refusal_says_how_much_is_left_and_stores_nothing(db, people, walk, make_proposal):
    proposal = walk.to_shortlist(make_proposal(people.applicant))
    envelope = walk.envelope(100_000_000)
    with pytest.raises(Refused) as refused:
        walk.fund(proposal, envelope, 150_000_000)
    db.rollback()
    assert refused.value.kind == "guard"
    assert "100.000.000" in refused.value.reasons[0].message["vi"]
    assert "100.000.000 ₫ left" in refused.value.reasons[0].message["en"]
    db.refresh(envelope)
    db.refresh(proposal)
    assert envelope.committed == 0 and proposal.wf_state == "shortlisted"
    assert db.scalar(select(func.count()).select_from(Funding)) == 0
    refusals = db.scalars(select(AuditEvent).where(AuditEvent.outcome == "refused")).all()
    assert [e.action for e in refusals] == ["approve_funding"]


def test_fire_alone_refuses_an_over_budget_decision(db, people, walk, make_proposal):
    """The write path is safe without the app's handler: the guard takes the amount from the inputs."""
    proposal = walk.to_shortlist(make_proposal(people.applicant))
    walk.envelope(100_000_000)
    inputs = {"approved_amount": 150_000_000, "decision_number": "QĐ 9/QĐ-SCT", "decision_date": "2026-03-01"}
    with pytest.raises(Refused) as refused:
        operations.fire(db, proposal, "approve_funding", actor(db, people.director), inputs)
    db.rollback()
    assert refused.value.kind == "guard"
    assert [r.subject for r in refused.value.reasons] == ["within_budget"]
    assert "100.000.000 ₫ left" in refused.value.reasons[0].message["en"]
    db.refresh(proposal)
    assert proposal.wf_state == "shortlisted"
    refusals = db.scalars(select(AuditEvent).where(AuditEvent.outcome == "refused")).all()
    assert [(e.action, e.inputs["approved_amount"]) for e in refusals] == [("approve_funding", 150_000_000)]
    # within the envelope the same direct call goes through (state only: money moves in the handler)
    operations.fire(db, proposal, "approve_funding", actor(db, people.director), {**inputs, "approved_amount": 90})
    assert proposal.wf_state == "funded"


@pytest.mark.parametrize(("amount", "field", "needle"), [
    (-5, "approved_amount", "Must not be below 1"),
    (0, "approved_amount", "Must not be below 1"),
    (190_000_001, "approved_amount", "above the requested"),
    ("1,5 triệu", "approved_amount", "whole number"),
])
def test_bad_amounts_are_refused_and_nothing_is_stored(db, people, walk, make_proposal, amount, field, needle):
    proposal = walk.to_shortlist(make_proposal(people.applicant))
    envelope = walk.envelope()
    with pytest.raises(InvalidInput) as invalid:
        walk.fund(proposal, envelope, amount)
    db.rollback()
    assert needle in invalid.value.errors[field]["en"]
    db.refresh(envelope)
    db.refresh(proposal)
    assert envelope.committed == 0 and proposal.wf_state == "shortlisted"


def test_only_the_director_decides(db, people, walk, make_proposal):
    proposal = walk.to_shortlist(make_proposal(people.applicant))
    envelope = walk.envelope()
    with pytest.raises(Refused) as refused:
        perform(db, proposal, "approve_funding", actor(db, people.officer),
                {"approved_amount": 1, "decision_number": "1", "decision_date": "2026-01-01",
                 "envelope_id": envelope.id})
    db.rollback()
    assert refused.value.kind == "permission"


def test_submit_is_refused_above_the_cap(db, people, walk, make_proposal):
    proposal = make_proposal(people.applicant, total_cost=300_000_000, requested_support=160_000_000,
                             counterpart_funds=140_000_000)
    with pytest.raises(Refused) as refused:
        walk.to_appraisal(proposal)
    db.rollback()
    assert [r.subject for r in refused.value.reasons] == ["support_within_cap"]
    assert "150.000.000" in refused.value.reasons[0].message["vi"]


def test_envelope_names_are_unique_per_year_and_amounts_positive(db, people, walk):
    walk.envelope(1_000, fund="Quỹ A")
    with pytest.raises(Conflict) as dup:
        walk.envelope(1_000, fund="Quỹ A")
    db.rollback()
    assert "already exists" in str(dup.value)
    with pytest.raises(InvalidInput) as bad:
        funding.create_envelope(db, db.get(User, people.officer.id), "19", {"fund": "B", "year": 2026, "amount": -1})
    db.rollback()
    assert "amount" in bad.value.errors
    assert db.scalar(select(func.count()).select_from(BudgetEnvelope)) == 1


def test_ranking_and_all_or_nothing_bulk_decision(db, people, walk, make_proposal):
    low = walk.to_shortlist(make_proposal(people.applicant), points={
        "fit_priority": 15, "necessity_effect": 20, "cost_counterpart": 15, "capacity": 15, "links": 3,
        "dossier": 7})  # 75; the other scores 80 plus the 5-point region bonus
    high = walk.to_shortlist(make_proposal(people.applicant, priority_region=True))
    envelope = walk.envelope(300_000_000)
    ranked = funding.ranking(db, Proposal.id.isnot(None), envelope)
    assert [r.proposal.id for r in ranked] == [high.id, low.id]
    assert [r.cumulative for r in ranked] == [190_000_000, 380_000_000]
    assert [r.fits for r in ranked] == [True, False]
    director = actor(db, people.director)
    inputs = {"decision_number": "QĐ 9", "decision_date": "2026-03-02", "envelope_id": envelope.id}
    with pytest.raises(funding.BulkRefused) as refused:
        funding.bulk_approve(db, [high, low], director, inputs)
    db.rollback()
    assert list(refused.value.failures) == [low.code]
    db.refresh(envelope)
    assert envelope.committed == 0
    assert db.scalar(select(func.count()).select_from(Funding)) == 0
    funding.bulk_approve(db, [high], director, inputs)
    db.commit()
    db.refresh(envelope)
    assert envelope.committed == 190_000_000
    assert [e.subject_id for e in applied(db, "approve_funding")] == [str(high.id)]


@pytest.mark.postgres
def test_fifty_concurrent_decisions_never_overspend(postgres_url: str) -> None:
    """50 decisions at once on 50 proposals, each in its own thread and session, against one envelope that
    funds exactly 10."""
    engine = create_db_engine(postgres_url, pool_size=50, max_overflow=0)  # a connection per thread at once
    maker = sessionmaker(bind=engine, expire_on_commit=False)
    with maker() as db:
        people = _people(db)
        walk = Walk(db, people)
        ids = []
        for _ in range(50):
            ids.append(walk.to_shortlist(_proposal(db, people)).id)
        envelope_id = walk.envelope(10 * 190_000_000).id
    barrier = threading.Barrier(50)
    outcomes: dict[int, str] = {}

    def decide(pid: int) -> None:
        with maker() as session:
            proposal = session.get(Proposal, pid)
            who = session.get(User, people.director.id).actor()
            barrier.wait(timeout=120)  # a safety net against a hang, not a timing assertion
            try:
                perform(session, proposal, "approve_funding", who,
                        {"approved_amount": 190_000_000, "decision_number": f"QĐ {pid}",
                         "decision_date": "2026-03-01", "envelope_id": envelope_id})
                session.commit()
                outcomes[pid] = "funded"
            except Refused:
                session.rollback()
                outcomes[pid] = "refused"

    threads = [threading.Thread(target=decide, args=(pid,)) for pid in ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    funded = sorted(pid for pid, outcome in outcomes.items() if outcome == "funded")
    assert len(outcomes) == 50 and len(funded) == 10
    with maker() as db:
        envelope = db.get(BudgetEnvelope, envelope_id)
        assert envelope.committed == 1_900_000_000 and envelope.remaining == 0
        assert sorted(int(e.subject_id) for e in applied(db, "approve_funding")) == funded
        assert sorted(db.scalars(select(Funding.proposal_id))) == funded
        assert sorted(db.scalars(select(Proposal.id).where(Proposal.wf_state == "funded"))) == funded
        refused = db.scalars(select(AuditEvent).where(AuditEvent.action == "approve_funding",
                                                      AuditEvent.outcome == "refused")).all()
        assert len(refused) == 40
    engine.dispose()


def _people(db: Any) -> Any:
    """The people fixture's cast, created on the PostgreSQL app's database."""
    from types import SimpleNamespace

    from conftest import COMMUNE, PROVINCE, _hash

    from app.models import Organisation, RoleGrant
    from app.units_data import seed_units

    seed_units(db)
    org = Organisation(name="HTX chè La Bằng", kind="cooperative", tax_code="4600099999", commune_code=COMMUNE)
    db.add(org)
    db.flush()

    def user(name: str, role: str, unit: str | None) -> User:
        u = User(username=name, full_name=name, password_hash=_hash("x"),
                 organisation_id=org.id if role == "applicant" else None)
        u.grants = [RoleGrant(role=role, unit_code=unit)]
        db.add(u)
        return u

    cast = SimpleNamespace(applicant=user("ung_vien", "applicant", None), commune=user("xa", "commune_officer", COMMUNE),
                           officer=user("tt", "centre_officer", PROVINCE), director=user("gd", "director", PROVINCE),
                           members=[user(f"hd{i}", "council_member", PROVINCE) for i in range(5)])
    db.commit()
    return cast


def _proposal(db: Any, people: Any) -> Proposal:
    from app.proposals.services import create_proposal

    proposal = create_proposal(db, db.get(User, people.applicant.id), {
        "title": "Máy sao chè", "category": "machinery", "sector": "agro_processing", "year": 2026,
        "total_cost": 400_000_000, "requested_support": 190_000_000, "counterpart_funds": 210_000_000,
        "duration_months": 12, "objectives": "Năng suất", "expected_results": "", "expected_jobs": 3,
        "commune_code": "05830"}, province_code="19")
    db.commit()
    return proposal
