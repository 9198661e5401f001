"""The stage forms and pages through real HTTP: CSRF, 4xx with reasons, nothing stored on error."""

from __future__ import annotations

import re

from conftest import csrf_token, login
from sqlalchemy import func, select

from app.models import Advance, BudgetEnvelope, CouncilMember, Funding, ProgressReport, ScoreSheet
from tests.stages.conftest import GOOD


def count(db, model):
    """A count read from the test's session, whose transaction then ends (SQLite: so requests can write)."""
    n = db.scalar(select(func.count()).select_from(model))
    db.commit()
    return n


def test_council_flow_in_the_browser(client, db, people, walk, make_proposal):
    proposal = walk.to_appraisal(make_proposal(people.applicant))
    login(client, "can_bo_trung_tam")
    page = client.get(f"/proposals/{proposal.id}")
    assert page.status_code == 200 and 'id="assign-form"' in page.get_data(as_text=True)
    token = csrf_token(client, f"/proposals/{proposal.id}")
    for m in people.members[:5]:
        answer = client.post(f"/council/proposals/{proposal.id}/members", data={"user_id": m.id, "csrf_token": token})
        assert answer.status_code == 303
    assert count(db, CouncilMember) == 5
    client.post("/logout", data={"csrf_token": token})

    login(client, "hoi_dong_1")
    listing = client.get("/council/")
    assert proposal.title in listing.get_data(as_text=True)
    token = csrf_token(client, f"/council/proposals/{proposal.id}")
    too_high = {f"points_{k}": v for k, v in GOOD.items()} | {"points_links": "9", "csrf_token": token}
    refused = client.post(f"/council/proposals/{proposal.id}/sheets", data=too_high)
    assert refused.status_code == 422
    assert "5" in refused.get_data(as_text=True)  # "không được lớn hơn 5"
    assert count(db, ScoreSheet) == 0
    sheet = {f"points_{k}": v for k, v in GOOD.items()} | {"comment": "Khả thi", "csrf_token": token}
    assert client.post(f"/council/proposals/{proposal.id}/sheets", data=sheet).status_code == 303
    page = client.get(f"/proposals/{proposal.id}").get_data(as_text=True)
    assert 'id="council-table"' in page and "Khả thi" in page  # own sheet in: others' visible
    client.post("/logout", data={"csrf_token": token})

    login(client, "hoi_dong_2")
    page = client.get(f"/proposals/{proposal.id}").get_data(as_text=True)
    assert "Khả thi" not in page  # not before submitting their own
    token = csrf_token(client, f"/council/proposals/{proposal.id}")
    answer = client.post(f"/council/proposals/{proposal.id}/recusal",
                         data={"kind": "conflict", "reason": "Người nhà", "csrf_token": token})
    assert answer.status_code == 303
    refused = client.post(f"/council/proposals/{proposal.id}/sheets", data=sheet | {"csrf_token": token})
    assert refused.status_code == 403
    assert count(db, ScoreSheet) == 1


def test_forms_without_csrf_are_refused(client, people, walk, make_proposal):
    proposal = walk.to_appraisal(make_proposal(people.applicant))
    login(client, "can_bo_trung_tam")
    answer = client.post(f"/council/proposals/{proposal.id}/members", data={"user_id": people.members[0].id})
    assert answer.status_code == 400


def test_envelopes_and_funding_in_the_browser(client, db, people, walk, make_proposal):
    proposal = walk.to_shortlist(make_proposal(people.applicant))
    login(client, "giam_doc")
    token = csrf_token(client, "/funding/envelopes")
    bad = client.post("/funding/envelopes", data={"fund": "KC", "year": "2026", "amount": "-1", "csrf_token": token})
    assert bad.status_code == 422
    assert count(db, BudgetEnvelope) == 0
    made = client.post("/funding/envelopes", data={"fund": "Kinh phí khuyến công địa phương", "year": "2026",
                                                   "amount": "3.500.000.000", "csrf_token": token})
    assert made.status_code == 303
    envelope = db.scalar(select(BudgetEnvelope))
    db.commit()
    ranking = client.get(f"/funding/envelopes/{envelope.id}").get_data(as_text=True)
    assert proposal.code in ranking and "3.500.000.000" in ranking
    decided = client.post(f"/funding/envelopes/{envelope.id}", data={
        "proposal_id": str(proposal.id), "decision_number": "QĐ 77/QĐ-UBND", "decision_date": "02/03/2026",
        "csrf_token": token})
    assert decided.status_code == 303
    db.refresh(envelope)
    db.commit()
    assert envelope.remaining == 3_500_000_000 - proposal.requested_support
    page = client.get(f"/proposals/{proposal.id}").get_data(as_text=True)
    assert "3.310.000.000" in page  # the remaining budget shows on the proposal page


def test_progress_and_advance_forms(client, db, people, walk, make_proposal):
    proposal = walk.to_implementing(make_proposal(people.applicant))
    login(client, "ung_vien")
    token = csrf_token(client, f"/proposals/{proposal.id}")
    bad = client.post(f"/implementation/{proposal.id}/progress", data={"percent": "120", "csrf_token": token})
    assert bad.status_code == 422
    ok = client.post(f"/implementation/{proposal.id}/progress",
                     data={"percent": "80", "period": "2026-06", "note": "Đã lắp máy", "csrf_token": token})
    assert ok.status_code == 303
    assert db.scalars(select(ProgressReport.percent)).all() == [80]
    db.commit()
    refused = client.post(f"/implementation/{proposal.id}/advances", data={"amount": "1000", "csrf_token": token})
    assert refused.status_code == 403  # applicants do not pay advances
    client.post("/logout", data={"csrf_token": token})
    login(client, "can_bo_trung_tam")
    token = csrf_token(client, f"/proposals/{proposal.id}")
    unconfirmed = client.post(f"/implementation/{proposal.id}/advances", data={"amount": "1000", "csrf_token": token})
    assert unconfirmed.status_code == 422 and "hiện 0%" in unconfirmed.get_data(as_text=True)
    report = db.scalar(select(ProgressReport))
    db.commit()
    assert f'id="confirm-progress-{report.id}"' in client.get(f"/proposals/{proposal.id}").get_data(as_text=True)
    confirmed = client.post(f"/implementation/{proposal.id}/progress/{report.id}/confirm",
                            data={"csrf_token": token})
    assert confirmed.status_code == 303
    over = client.post(f"/implementation/{proposal.id}/advances", data={"amount": "140000000", "csrf_token": token})
    assert over.status_code == 422 and "133.000.000" in over.get_data(as_text=True)
    assert count(db, Advance) == 0
    ok = client.post(f"/implementation/{proposal.id}/advances", data={"amount": "100.000.000", "csrf_token": token})
    assert ok.status_code == 303
    page = client.get(f"/proposals/{proposal.id}").get_data(as_text=True)
    assert re.search(r'id="money-advanced">100\.000\.000', page)
    assert 'id="progress-percent">80%' in page


def test_pages_need_the_right_role(client, people):
    login(client, "ung_vien")
    assert client.get("/funding/envelopes").status_code == 403
    assert client.get("/council/").status_code == 403


def test_change_request_and_decision_forms(app, client, db, people, walk, make_proposal):
    proposal = walk.to_implementing(make_proposal(people.applicant))
    page = f"/proposals/{proposal.id}"
    login(client, "ung_vien")
    token = csrf_token(client, page)
    bad = client.post(f"/implementation/{proposal.id}/changes",
                      data={"kind": "extension", "value": "31/02/2027", "reason": "Chậm", "csrf_token": token})
    assert bad.status_code == 422
    ok = client.post(f"/implementation/{proposal.id}/changes",
                     data={"kind": "extension", "value": "30/06/2027", "reason": "Chậm giao máy", "csrf_token": token})
    assert ok.status_code == 303
    assert 'id="approve-change-' not in client.get(page).get_data(as_text=True)  # only the director decides
    director = app.test_client()
    login(director, "giam_doc")
    shown = director.get(page).get_data(as_text=True)
    change_id = re.search(r'id="approve-change-(\d+)"', shown).group(1)
    token = csrf_token(director, page)
    decided = director.post(f"/implementation/{proposal.id}/changes/{change_id}/decision",
                            data={"approve": "true", "comment": "Đồng ý", "csrf_token": token})
    assert decided.status_code == 303
    again = director.post(f"/implementation/{proposal.id}/changes/{change_id}/decision",
                          data={"approve": "true", "csrf_token": token})
    assert again.status_code == 422  # decided already
    shown = director.get(page).get_data(as_text=True)
    assert "30/06/2027" in shown and "2027-06-30" in shown  # the new end date, and the request's value


def test_stage_panels_speak_english_too(client, db, people, walk, make_proposal):
    proposal = walk.to_implementing(make_proposal(people.applicant))
    login(client, "can_bo_trung_tam")
    page = f"/proposals/{proposal.id}"
    client.post("/language", data={"lang": "en", "next": page, "csrf_token": csrf_token(client, page)})
    shown = client.get(page).get_data(as_text=True)
    for text in ("Money", "Appraisal council", "Implementation", "Record the advance", "Evaluation"):
        assert text in shown
    refused = client.post(f"/implementation/{proposal.id}/advances",
                          data={"amount": "500000000", "csrf_token": csrf_token(client, page)})
    assert refused.status_code == 422 and "may be advanced only above 70% confirmed progress" in refused.get_data(as_text=True)


def test_the_approve_funding_form_offers_the_years_envelopes(client, db, people, walk, make_proposal):
    proposal = walk.to_shortlist(make_proposal(people.applicant))
    walk.envelope(fund="Kinh phí khuyến công địa phương A")
    second = walk.envelope(fund="Kinh phí khuyến công địa phương B")
    pid, chosen = proposal.id, second.id
    db.commit()
    login(client, "giam_doc")
    url = f"/proposals/{pid}/actions/approve_funding"
    page = client.get(url).get_data(as_text=True)
    assert 'name="envelope_id"' in page and "địa phương A" in page and "địa phương B" in page
    token = csrf_token(client, url)
    answer = client.post(url, data={"csrf_token": token, "approved_amount": "100.000.000",
                                    "decision_number": "QĐ 9/QĐ-SCT", "decision_date": "2026-03-01",
                                    "envelope_id": str(chosen)})
    assert answer.status_code == 303, answer.get_data(as_text=True)[:800]
    assert db.scalar(select(Funding.envelope_id).where(Funding.proposal_id == pid)) == chosen
