"""The 2026 programme through the JSON API: rounds, filing windows, the plan's approval, priority, acceptance."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from conftest import tiny_pdf
from sqlalchemy import select

from app import deadlines
from app.models import PlanRound, Proposal
from app.rounds import services as rounds
from tests.stages.conftest import GOOD, attach
from tests.stages.test_api import bearer  # noqa: F401  (fixture)

DOSSIER = ("business_registration", "quotes", "non_duplication")


@pytest.fixture
def clock(monkeypatch):
    now = {"today": dt.date(2025, 6, 15)}
    monkeypatch.setattr(rounds, "local_today", lambda: now["today"])
    monkeypatch.setattr(deadlines, "today", lambda: now["today"])  # the round's guard facts
    return lambda day: now.update(today=day)


def test_a_round_through_the_api(client, db, people, walk, bearer, clock):  # noqa: F811
    h = bearer
    body = {"fund": "local", "plan_year": 2026, "opens_on": "2025-06-01", "closes_on": "2025-07-31"}
    assert client.post("/api/v1/rounds", json=body, headers=h(people.applicant)).status_code == 403
    assert client.post("/api/v1/rounds", json={**body, "closes_on": "2025-05-01"},
                       headers=h(people.officer)).status_code == 422
    opened = client.post("/api/v1/rounds", json=body, headers=h(people.officer))
    assert opened.status_code == 201 and opened.json["state"] == "registration"
    round_id = opened.json["id"]
    assert client.post("/api/v1/rounds", json=body, headers=h(people.officer)).status_code == 409

    created = client.post("/api/v1/proposals", headers=h(people.applicant), json={
        "title": "Máy sấy chè", "category": "machinery", "sector": "agro_processing", "year": 2026,
        "total_cost": 400_000_000, "requested_support": 190_000_000, "counterpart_funds": 210_000_000})
    assert created.status_code == 201
    assert (created.json["fund"], created.json["round_id"], created.json["priority_confirmed"]) == (
        "local", round_id, False)
    pid = created.json["id"]
    proposal = db.get(Proposal, pid)
    attach(db, proposal, *DOSSIER)

    clock(dt.date(2025, 8, 1))
    late = client.post(f"/api/v1/proposals/{pid}/actions/submit", json={}, headers=h(people.applicant))
    assert late.status_code == 422 and "closed for filing on 2025-07-31" in late.text
    clock(dt.date(2025, 7, 31))  # the last day is still open
    assert client.post(f"/api/v1/proposals/{pid}/actions/submit", json={},
                       headers=h(people.applicant)).status_code == 200
    assert client.post(f"/api/v1/proposals/{pid}/actions/forward", json={"comment": "Đạt"},
                       headers=h(people.commune)).status_code == 200

    # Priority: only the Centre confirms; the answer shows it.
    assert client.post(f"/api/v1/proposals/{pid}/priority", json={"priority_region": True, "priority_sector": False},
                       headers=h(people.applicant)).status_code == 403
    confirmed = client.post(f"/api/v1/proposals/{pid}/priority",
                            json={"priority_region": True, "priority_sector": False}, headers=h(people.officer))
    assert confirmed.status_code == 200
    assert client.get(f"/api/v1/proposals/{pid}", headers=h(people.officer)).json["priority_confirmed"] is True
    db.expire_all()
    walk.assign(proposal, people.members[:5])
    for m in people.members[:5]:
        walk.score(proposal, m, GOOD)
    walk.fire(proposal, "shortlist", people.officer, comment="Đạt")

    clock(dt.date(2025, 8, 2))
    base = f"/api/v1/rounds/{round_id}"
    assert client.post(f"{base}/actions/close_registration", json={}, headers=h(people.officer)).status_code == 200
    plan = client.post(f"{base}/plan", headers=h(people.officer))
    assert plan.status_code == 200 and plan.json["plan_total"] == 190_000_000
    [group] = plan.json["plan"]
    assert group["category"] == "machinery" and group["lines"][0]["proposal_id"] == pid and group["total"] == 190_000_000
    assert client.post(f"{base}/actions/submit_plan", json={"comment": "Trình"},
                       headers=h(people.director)).status_code == 200

    # Funding from the unapproved plan: a clear 4xx; an envelope of it too.
    assert client.post(f"{base}/envelopes", json={"amount": 190_000_000},
                       headers=h(people.director)).status_code == 422
    early = client.post(f"/api/v1/proposals/{pid}/actions/approve_funding", headers=h(people.director), json={
        "approved_amount": 190_000_000, "decision_number": "QĐ 1", "decision_date": "2025-12-01"})
    assert early.status_code == 422 and "not approved by the People's Committee" in early.text

    clock(dt.date(2025, 12, 20))
    uploaded = client.post(f"{base}/decision-file", headers=h(people.officer),
                           data={"file": (io.BytesIO(tiny_pdf("QĐ")), "qd.pdf")},
                           content_type="multipart/form-data")
    assert uploaded.status_code == 200 and uploaded.json["decision_file_name"] == "qd.pdf"
    auditor = client.post(f"{base}/actions/record_approval", headers=h(people.auditor), json={
        "decision_number": "2345/QĐ-UBND", "decision_date": "2025-12-15", "approved_total": 190_000_000})
    assert auditor.status_code == 403
    approved = client.post(f"{base}/actions/record_approval", headers=h(people.director), json={
        "decision_number": "2345/QĐ-UBND", "decision_date": "2025-12-15", "approved_total": 190_000_000})
    assert approved.status_code == 200 and approved.json["state"] == "approved"
    envelope = client.post(f"{base}/envelopes", json={"amount": 190_000_000}, headers=h(people.director))
    assert envelope.status_code == 201 and "2345/QĐ-UBND" in envelope.json["fund"]
    funded = client.post(f"/api/v1/proposals/{pid}/actions/approve_funding", headers=h(people.director), json={
        "approved_amount": 190_000_000, "decision_number": "QĐ 1", "decision_date": "2025-12-21"})
    assert funded.status_code == 200, funded.text
    listed = client.get("/api/v1/rounds", headers=h(people.auditor)).json["items"]
    assert [(r["id"], r["state"], r["decision_number"]) for r in listed] == [(round_id, "approved", "2345/QĐ-UBND")]
    assert db.scalar(select(PlanRound.approved_total)) == 190_000_000
    db.commit()

    # Acceptance dated in the future: a clear 422.
    db.refresh(proposal)
    walk.fire(proposal, "sign_contract", people.officer, contract_number="HĐ 1", contract_date="2026-01-05")
    attach(db, proposal, "acceptance_record", "purchase_contract", "contract_liquidation", "invoices",
           "counterpart_proof")
    future = (dt.date.today() + dt.timedelta(days=3)).isoformat()
    refused = client.post(f"/api/v1/proposals/{pid}/actions/accept", headers=h(people.officer), json={
        "acceptance_date": future, "committee_members": "Nguyễn Văn An\nTrần Thị Bình", "comment": "Đạt"})
    assert refused.status_code == 422 and "cannot be in the future" in refused.text
