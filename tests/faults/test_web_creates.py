"""The new-proposal form sent twice (double click, resend after a timeout) creates one draft."""

from __future__ import annotations

import re

import pytest
from conftest import login
from sqlalchemy import func, select

from app.models import Proposal

pytestmark = pytest.mark.faults


def test_a_double_submitted_new_proposal_form_creates_one_draft(app, world, db):
    client = app.test_client()
    assert login(client, "applicant_a").status_code == 302
    page = client.get("/proposals/new").get_data(as_text=True)
    fields = dict(re.findall(r'name="(csrf_token|idempotency_key)"[^>]*value="([^"]+)"', page))
    assert len(fields) == 2
    form = {**fields, "title": "Máy sấy chè", "commune_code": "05830", "category": "machinery",
            "sector": "agro_processing", "year": "2027", "total_cost": "400000000",
            "requested_support": "190000000", "counterpart_funds": "210000000", "duration_months": "12",
            "expected_jobs": "3"}
    first = client.post("/proposals/new", data=form)
    again = client.post("/proposals/new", data=form)
    assert (first.status_code, again.status_code) == (303, 303)
    assert again.headers["Location"] == first.headers["Location"]
    assert db.scalar(select(func.count()).select_from(Proposal).where(Proposal.year == 2027)) == 1
