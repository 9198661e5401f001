"""Who reaches what through the API: every endpoint as every role, own versus other scope (flaskr style).

Out of scope is always a 404 whose body carries no data; a role that may see but not act gets a 403. A draft is
out of scope for everyone but its own organisation until it is first submitted (docs/privacy.md).
"""

from __future__ import annotations

import pytest
from conftest import verified_through_api
from sqlalchemy import select

from api.world import ROLES, SEES_A
from app.models import Proposal
from workflow.audit import AuditEvent

ALL = sorted(ROLES)
PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


def _no_data(response, proposal) -> None:
    body = response.get_data(as_text=True)
    assert proposal.title not in body and proposal.code not in body
    assert set(response.get_json()) == {"error", "reasons"}


@pytest.mark.parametrize("who", ALL)
def test_units_for_everyone(client, world, who):
    r = client.get("/api/v1/units", headers=world.headers(who))
    assert r.status_code == 200
    codes = {u["code"]: u["level"] for u in r.get_json()["items"]}
    assert codes["19"] == "province" and codes["171"] == "district" and codes["05830"] == "commune"


def _submit_both(client, world) -> None:
    for who, proposal in (("applicant_a", world.pa), ("applicant_b", world.pb)):
        r = client.post(f"/api/v1/proposals/{proposal.id}/actions/submit", headers=world.headers(who), json={})
        assert r.status_code == 200, r.get_json()


@pytest.mark.parametrize("submitted", [False, True], ids=["draft", "submitted"])
@pytest.mark.parametrize("who", ALL)
def test_read_proposal(client, world, who, submitted):
    if submitted:
        _submit_both(client, world)
    sees = SEES_A if submitted else {"applicant_a"}
    for path in (f"/api/v1/proposals/{world.pa.id}", f"/api/v1/proposals/{world.pa.id}/history"):
        r = client.get(path, headers=world.headers(who))
        if who in sees:
            assert r.status_code == 200, (who, path)
        else:
            assert r.status_code == 404, (who, path)
            _no_data(r, world.pa)


@pytest.mark.parametrize(("who", "expected"), [
    ("applicant_a", {"a"}), ("applicant_b", {"b"}),
    ("district_own", {"a"}), ("district_other", {"b"}),
    ("commune_own", {"a"}), ("commune_other", {"b"}),
    ("centre", {"a", "b"}), ("council", set()), ("director", {"a", "b"}),
    ("auditor", {"a", "b"}), ("admin", {"a", "b"}),
])
@pytest.mark.parametrize("submitted", [False, True], ids=["draft", "submitted"])
def test_list_is_scoped(client, world, who, expected, submitted):
    if submitted:
        _submit_both(client, world)
    elif not who.startswith("applicant"):
        expected = set()  # drafts are their organisation's alone
    r = client.get("/api/v1/proposals", headers=world.headers(who))
    assert r.status_code == 200
    body = r.get_json()
    names = {"a" if i["id"] == world.pa.id else "b" for i in body["items"]}
    assert names == expected and body["total"] == len(expected)


@pytest.mark.parametrize("who", ALL)
def test_create(client, world, who):
    r = client.post("/api/v1/proposals", headers=world.headers(who), json={
        "title": "Máy vò chè mới", "category": "machinery", "sector": "agro_processing", "year": 2026})
    assert r.status_code == (201 if who.startswith("applicant") else 403), (who, r.get_json())


@pytest.mark.parametrize("who", ALL)
def test_patch(client, world, who, db):
    r = client.patch(f"/api/v1/proposals/{world.pa.id}", headers=world.headers(who),
                     json={"title": "Tiêu đề đã sửa", "expected_version": 1})
    expected = 200 if who == "applicant_a" else 404  # a draft: out of everyone else's scope
    assert r.status_code == expected, (who, r.get_json())
    db.expire_all()
    title = db.get(Proposal, world.pa.id).title
    assert (title == "Tiêu đề đã sửa") == (expected == 200)


@pytest.mark.parametrize("who", ALL)
def test_submit(client, world, who, db):
    r = client.post(f"/api/v1/proposals/{world.pa.id}/actions/submit", headers=world.headers(who), json={})
    expected = 200 if who == "applicant_a" else 404  # a draft: out of everyone else's scope
    assert r.status_code == expected, (who, r.get_json())
    if expected == 404:
        _no_data(r, world.pa)
    db.expire_all()
    assert db.get(Proposal, world.pa.id).wf_state == ("district_review" if expected == 200 else "draft")


@pytest.mark.parametrize("who", ALL)
def test_upload(client, world, who, tmp_path):
    import io

    r = client.post(f"/api/v1/proposals/{world.pa.id}/attachments", headers=world.headers(who),
                    data={"kind": "quotes", "file": (io.BytesIO(PDF), "bao-gia.pdf")},
                    content_type="multipart/form-data")
    expected = 201 if who == "applicant_a" else 404  # a draft: out of everyone else's scope
    assert r.status_code == expected, (who, r.get_json())


@pytest.mark.parametrize("who", ALL)
def test_audit_verify_is_for_auditors(client, world, who):
    r = client.get("/api/v1/audit/verify", headers=world.headers(who))
    assert r.status_code == (404 if who == "auditor" else 403)  # an auditor: no run yet
    if who == "auditor":
        assert verified_through_api(client, world.headers(who))["ok"] is True
    else:
        assert client.post("/api/v1/audit/verify", headers=world.headers(who)).status_code == 403


@pytest.mark.parametrize("who", ALL)
def test_forward_in_district_review(client, world, who, db):
    """After submission only the district officer of the proposal's district may forward it."""
    assert client.post(f"/api/v1/proposals/{world.pa.id}/actions/submit",
                       headers=world.headers("applicant_a")).status_code == 200
    r = client.post(f"/api/v1/proposals/{world.pa.id}/actions/forward", headers=world.headers(who),
                    json={"comment": "Đủ điều kiện", "expected_version": 2})
    expected = 200 if who == "district_own" else 403 if who in SEES_A else 404
    assert r.status_code == expected, (who, r.get_json())
    if expected == 403:
        assert r.get_json()["reasons"], "a 403 says why"
    refused = db.scalars(select(AuditEvent).where(AuditEvent.action == "forward",
                                                  AuditEvent.outcome == "refused")).all()
    assert len(refused) == (1 if expected == 403 else 0)  # refusals are audited; 404s reveal nothing
