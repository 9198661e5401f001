"""The stage endpoints of the JSON API: same error shape and status codes, nothing stored on error."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from app.api.tokens import issue_token
from app.models import Advance, BudgetEnvelope, Funding, ScoreSheet
from tests.stages.conftest import GOOD


@pytest.fixture
def bearer(db, people) -> Any:
    tokens: dict[int, str] = {}

    def headers(user: Any) -> dict[str, str]:
        if user.id not in tokens:
            tokens[user.id] = issue_token(db, user, "tests")
            db.commit()
        return {"Authorization": f"Bearer {tokens[user.id]}", "Accept-Language": "en"}

    return headers


def count(db: Any, model: Any) -> int:
    n = db.scalar(select(func.count()).select_from(model))
    db.commit()  # end the read transaction (SQLite), so requests can write
    return n


def test_council_through_the_api(client, db, people, walk, make_proposal, bearer):
    proposal = walk.to_appraisal(make_proposal(people.applicant))
    base = f"/api/v1/proposals/{proposal.id}"
    for m in people.members[:5]:
        answer = client.post(f"{base}/council/members", json={"user_id": m.id}, headers=bearer(people.officer))
        assert answer.status_code == 200, answer.json
    assert answer.json["council"]["assigned"] == 5
    refused = client.post(f"{base}/council/members", json={"user_id": people.members[5].id},
                          headers=bearer(people.director))
    assert refused.status_code == 403 and refused.json["reasons"][0]["code"] == "role"

    first, second = people.members[0], people.members[1]
    too_high = client.post(f"{base}/council/sheets", json={"points": {**GOOD, "dossier": 11}},
                           headers=bearer(first))
    assert too_high.status_code == 422
    assert too_high.json["reasons"] == [{"code": "invalid", "subject": "points.dossier",
                                         "message": "Must not be above 10"}]
    assert count(db, ScoreSheet) == 0
    float_points = client.post(f"{base}/council/sheets", json={"points": {**GOOD, "links": 2.5}},
                               headers=bearer(first))
    assert float_points.status_code == 422
    ok = client.post(f"{base}/council/sheets", json={"points": GOOD, "comment": "Tốt"}, headers=bearer(first))
    assert ok.status_code == 200
    mine = next(m for m in ok.json["council"]["members"] if m["user_id"] == first.id)
    assert mine["sheet"]["points"] == GOOD and mine["sheet"]["score"] == 80
    hidden = client.get(f"{base}/stages", headers=bearer(second)).json
    theirs = next(m for m in hidden["council"]["members"] if m["user_id"] == first.id)
    assert theirs["sheet"] == {"version": 1, "points": None, "score": None, "comment": None, "not_eligible": None}
    history = client.get(f"{base}/history", headers=bearer(people.applicant)).json["items"]
    assert "Tốt" not in str(history) and "necessity_effect" not in str(history)  # the trail hides the sheet

    recusal = client.post(f"{base}/council/recusal", json={"kind": "recusal", "reason": "Công tác"},
                          headers=bearer(second))
    assert recusal.status_code == 200
    late = client.post(f"{base}/council/sheets", json={"points": GOOD}, headers=bearer(second))
    assert late.status_code == 403 and "recused" in late.json["reasons"][0]["message"]
    assert count(db, ScoreSheet) == 1


def test_funding_through_the_api(client, db, people, walk, make_proposal, bearer):
    proposal = walk.to_shortlist(make_proposal(people.applicant))
    created = client.post("/api/v1/envelopes", json={"fund": "KC địa phương", "year": 2026, "amount": 380_000_000},
                          headers=bearer(people.director))
    assert created.status_code == 201 and created.json["remaining"] == 380_000_000
    again = client.post("/api/v1/envelopes", json={"fund": "KC địa phương", "year": 2026, "amount": 1},
                        headers=bearer(people.director))
    assert again.status_code == 409
    floaty = client.post("/api/v1/envelopes", json={"fund": "X", "year": 2026, "amount": 1.5e9},
                         headers=bearer(people.director))
    assert floaty.status_code == 422
    assert client.post("/api/v1/envelopes", json={"fund": "Y", "year": 2026, "amount": 5},
                       headers=bearer(people.applicant)).status_code == 403
    assert count(db, BudgetEnvelope) == 1

    action = f"/api/v1/proposals/{proposal.id}/actions/approve_funding"
    above = client.post(action, json={"approved_amount": 190_000_001, "decision_number": "QĐ 1",
                                      "decision_date": "2026-03-01"}, headers=bearer(people.director))
    assert above.status_code == 422 and "above the requested" in above.json["reasons"][0]["message"]
    negative = client.post(action, json={"approved_amount": -1, "decision_number": "QĐ 1",
                                         "decision_date": "2026-03-01"}, headers=bearer(people.director))
    assert negative.status_code == 422
    assert count(db, Funding) == 0

    envelope_id = created.json["id"]
    ranking = client.get(f"/api/v1/envelopes/{envelope_id}/ranking", headers=bearer(people.officer)).json
    assert [r["proposal_id"] for r in ranking["items"]] == [proposal.id] and ranking["items"][0]["score"] == 80
    officer = client.post("/api/v1/funding/decisions", json={
        "envelope_id": envelope_id, "proposal_ids": [proposal.id], "decision_number": "QĐ 5",
        "decision_date": "2026-03-05"}, headers=bearer(people.officer))
    assert officer.status_code == 403 and officer.json["reasons"][0]["subject"].startswith(proposal.code)
    decided = client.post("/api/v1/funding/decisions", json={
        "envelope_id": envelope_id, "proposal_ids": [proposal.id], "decision_number": "QĐ 5",
        "decision_date": "2026-03-05"}, headers=bearer(people.director))
    assert decided.status_code == 200
    assert decided.json == {"funded": [proposal.id], "envelope": {
        "id": envelope_id, "fund": "KC địa phương", "year": 2026, "amount": 380_000_000,
        "committed": 190_000_000, "remaining": 190_000_000}}
    stages = client.get(f"/api/v1/proposals/{proposal.id}/stages", headers=bearer(people.applicant)).json
    assert stages["money"]["approved"] == 190_000_000 and stages["state"] == "funded"


def test_implementation_through_the_api(client, db, people, walk, make_proposal, bearer):
    proposal = walk.to_implementing(make_proposal(people.applicant))
    base = f"/api/v1/proposals/{proposal.id}"
    negative = client.post(f"{base}/advances", json={"amount": -100}, headers=bearer(people.officer))
    assert negative.status_code == 422 and negative.json["reasons"][0]["subject"] == "amount"
    early = client.post(f"{base}/advances", json={"amount": 10_000_000}, headers=bearer(people.officer))
    assert early.status_code == 422 and early.json["reasons"][0]["code"] == "guard"
    assert count(db, Advance) == 0
    report = client.post(f"{base}/progress", json={"percent": 75, "period": "2026-06"},
                         headers=bearer(people.applicant))
    assert report.status_code == 200 and report.json["progress_percent"] == 0  # counts once the Centre confirms
    [reported] = report.json["progress"]
    assert reported["confirmed_at"] is None
    own = client.post(f"{base}/progress/{reported['id']}/confirm", json={}, headers=bearer(people.applicant))
    assert own.status_code == 403  # the applicant cannot confirm their own report
    confirmed = client.post(f"{base}/progress/{reported['id']}/confirm", json={}, headers=bearer(people.officer))
    assert confirmed.status_code == 200 and confirmed.json["progress_percent"] == 75
    assert confirmed.json["progress"][0]["confirmed_at"] is not None
    paid = client.post(f"{base}/advances", json={"amount": 10_000_000, "paid_on": "2026-06-10"},
                       headers=bearer(people.officer))
    assert paid.status_code == 200 and paid.json["money"]["advanced"] == 10_000_000
    change = client.post(f"{base}/changes", json={"kind": "extension", "value": "2027-09-30", "reason": "Mưa lũ"},
                         headers=bearer(people.applicant))
    assert change.status_code == 200
    change_id = change.json["changes"][0]["id"]
    approved = client.post(f"{base}/changes/{change_id}/decision", json={"approve": True},
                           headers=bearer(people.director))
    assert approved.status_code == 200 and approved.json["money"]["end_date"] == "2027-09-30"
    assert approved.json["money"]["terms_version"] == 2
    stale = client.post(f"{base}/progress", json={"percent": 80, "period": "2026-07", "expected_version": 1},
                        headers=bearer(people.applicant))
    assert stale.status_code == 409
    wrong_state = client.post(f"{base}/indicators", json={"key": "jobs_created", "actual": 3},
                              headers=bearer(people.officer))
    assert wrong_state.status_code == 200  # indicators may be recorded from implementation on
    not_now = client.post(f"/api/v1/proposals/{proposal.id}/council/sheets", json={"points": GOOD},
                          headers=bearer(people.members[0]))
    assert not_now.status_code == 409


def test_approve_funding_chooses_among_two_envelopes_of_a_year(client, db, people, walk, make_proposal, bearer):
    proposal = walk.to_shortlist(make_proposal(people.applicant))
    walk.envelope(fund="Kinh phí khuyến công địa phương A")
    second = walk.envelope(fund="Kinh phí khuyến công địa phương B")
    pid, chosen = proposal.id, second.id
    body = {"approved_amount": 100_000_000, "decision_number": "QĐ 9/QĐ-SCT", "decision_date": "2026-03-01"}
    url = f"/api/v1/proposals/{pid}/actions/approve_funding"
    unchosen = client.post(url, json=body, headers=bearer(people.director))
    assert unchosen.status_code == 422 and unchosen.json["reasons"][0]["subject"] == "envelope_id"
    approved = client.post(url, json={**body, "envelope_id": chosen}, headers=bearer(people.director))
    assert approved.status_code == 200, approved.json
    funding = db.scalar(select(Funding).where(Funding.proposal_id == pid))
    assert funding.envelope_id == chosen
    assert db.get(BudgetEnvelope, chosen, populate_existing=True).committed == 100_000_000
