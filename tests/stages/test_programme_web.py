"""Plan round pages: open a round, see its plan list, fire its transitions; typed errors come back as 4xx."""

from __future__ import annotations

import datetime as dt
import io

from conftest import csrf_token, login, tiny_pdf
from sqlalchemy import select

from app import deadlines
from app.models import PlanRound
from app.rounds import services as rounds
from tests.stages.conftest import GOOD


def _post(client, url, page, files=None, **data):
    payload = {**data, "csrf_token": csrf_token(client, page), **(files or {})}
    return client.post(url, data=payload, content_type="multipart/form-data")


def test_a_round_through_the_pages(app, client, db, people, walk, make_proposal, monkeypatch):
    today = {"day": dt.date(2025, 6, 20)}
    monkeypatch.setattr(rounds, "local_today", lambda: today["day"])
    monkeypatch.setattr(deadlines, "today", lambda: today["day"])  # the round's guard facts
    login(client, "can_bo_trung_tam")
    bad = _post(client, "/rounds/", "/rounds/", fund="local", plan_year="2026", opens_on="01/08/2025",
                closes_on="31/07/2025")
    assert bad.status_code == 422 and "phải sau ngày bắt đầu" in bad.get_data(as_text=True)
    ok = _post(client, "/rounds/", "/rounds/", fund="local", plan_year="2026", opens_on="01/06/2025",
               closes_on="31/07/2025")
    assert ok.status_code == 303
    plan_round = db.scalar(select(PlanRound))
    db.commit()
    assert f'id="round-{plan_round.id}"' in client.get("/rounds/").get_data(as_text=True)

    proposal = walk.to_appraisal(make_proposal(people.applicant, priority_sector=True))
    walk.assign(proposal, people.members[:5])
    for m in people.members[:5]:
        walk.score(proposal, m, GOOD)
    walk.fire(proposal, "shortlist", people.officer, comment="Đạt")
    page = f"/rounds/{plan_round.id}"
    early = _post(client, f"{page}/actions/close_registration", page)
    assert early.status_code == 422 and "Chưa hết hạn nhận hồ sơ" in early.get_data(as_text=True)
    today["day"] = dt.date(2025, 8, 1)
    assert _post(client, f"{page}/actions/close_registration", page).status_code == 303
    assert _post(client, f"{page}/plan", page).status_code == 303
    shown = client.get(page).get_data(as_text=True)
    assert f'id="plan-line-{proposal.id}"' in shown and 'id="round-plan-total">190.000.000' in shown

    client = app.test_client()
    login(client, "giam_doc")
    assert _post(client, f"{page}/actions/submit_plan", page, comment="Trình UBND tỉnh").status_code == 303
    assert _post(client, f"{page}/decision-file", page,
                 files={"file": (io.BytesIO(tiny_pdf("QĐ")), "qd-2345.pdf")}).status_code == 303
    today["day"] = dt.date(2025, 12, 20)
    future = _post(client, f"{page}/actions/record_approval", page, decision_number="2345/QĐ-UBND",
                   decision_date="21/12/2025", approved_total="190.000.000")
    assert future.status_code == 422 and "không được sau hôm nay" in future.get_data(as_text=True)
    assert _post(client, f"{page}/actions/record_approval", page, decision_number="2345/QĐ-UBND",
                 decision_date="15/12/2025", approved_total="190.000.000").status_code == 303
    assert _post(client, f"{page}/envelopes", page, amount="190.000.000").status_code == 303
    shown = client.get(page).get_data(as_text=True)
    assert 'data-state="approved"' in shown and "2345/QĐ-UBND" in shown and 'id="round-envelope-' in shown

    client = app.test_client()
    login(client, "thanh_tra")
    assert _post(client, f"{page}/actions/close_round", page, comment="x").status_code == 403
