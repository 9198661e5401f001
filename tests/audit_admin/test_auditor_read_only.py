"""Auditors read everything and change nothing: every mutating route of the whole application, page or API,
is refused to an auditor, and the database is exactly as it was afterwards.

The routes are read from the URL map, so a route added later (any area) is covered without editing this test.
"""

from __future__ import annotations

import io

import pytest
from api.world import BOTH_DATABASES
from conftest import csrf_token, login
from sqlalchemy import func, select

from app.models import Attachment, Proposal, RoleGrant, Unit, User
from app.proposals.schemas import action_models
from workflow.audit import AuditEvent

pytestmark = BOTH_DATABASES

WRITES = {"POST", "PUT", "PATCH", "DELETE"}
SELF_SERVICE = {"auth.login", "auth.logout", "auth.language",  # the auditor's own session, not the records
                "notifications.open_notice", "notifications.read_all", "notifications.preferences",  # own inbox
                "audit.start_verification", "api.start_verify"}  # starts a read of the trail; records nothing in it
OWN_ENDPOINTS = {"api.create", "api.patch_proposal", "api.upload", "api.act"}
PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


def _snapshot(db):
    """Everything an auditor could conceivably change, reduced to comparable values."""
    snap = {
        "proposals": db.execute(select(Proposal.id, Proposal.wf_state, Proposal.wf_version, Proposal.title)
                                .order_by(Proposal.id)).all(),
        "users": db.execute(select(User.id, User.is_active, User.password_hash).order_by(User.id)).all(),
        "grants": db.execute(select(RoleGrant.user_id, RoleGrant.role, RoleGrant.unit_code)
                             .order_by(RoleGrant.id)).all(),
        "units": db.scalar(select(func.count()).select_from(Unit)),
        "attachments": db.scalar(select(func.count()).select_from(Attachment)),
        "written": db.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.outcome != "refused")),
    }
    db.commit()  # end the read (SQLite write lock)
    return snap


def _values(rule, world, attachment_id):
    known = {"proposal_id": world.pa.id, "pid": world.pa.id, "trigger": "submit",
             "user_id": world.users["centre"].id, "grant_id": world.users["centre"].grants[0].id,
             "aid": attachment_id, "attachment_id": attachment_id}
    return {name: known.get(name, 1) for name in rule.arguments}


def _mutating_rules(app):
    return [(rule, method) for rule in app.url_map.iter_rules() for method in sorted(rule.methods & WRITES)
            if rule.endpoint not in SELF_SERVICE]


def test_every_mutating_page_route_is_refused(app, client, world, db):
    attachment_id = db.scalar(select(Attachment.id).where(Attachment.proposal_id == world.pa.id))
    before = _snapshot(db)
    login(client, "auditor")
    token = csrf_token(client, "/audit/")
    adapter = app.url_map.bind("localhost")
    tried = 0
    for rule, method in _mutating_rules(app):
        if rule.endpoint.startswith("api."):
            continue
        url = adapter.build(rule.endpoint, _values(rule, world, attachment_id), method=method)
        data = {"csrf_token": token, "title": "Auditor was here", "comment": "x", "reason": "x",
                "kind": "quotes", "file": (io.BytesIO(PDF), "a.pdf"), "role": "admin", "unit_code": "19",
                "active": "0", "password": "auditor-password", "confirm": "auditor-password",
                "code": "05990", "name": "Xã Kiểm Toán", "username": "auditor_made", "full_name": "X"}
        r = client.open(url, method=method, data=data, content_type="multipart/form-data")
        assert r.status_code in (400, 403, 404, 409, 422), f"{method} {url} answered {r.status_code}"
        tried += 1
    assert tried >= 8
    assert _snapshot(db) == before


def test_every_mutating_api_route_is_refused(app, client, world, db):
    submitted = client.post(f"/api/v1/proposals/{world.pa.id}/actions/submit", headers=world.headers("applicant_a"))
    assert submitted.status_code == 200  # a draft would be a 404 for the auditor (docs/privacy.md)
    attachment_id = db.scalar(select(Attachment.id).where(Attachment.proposal_id == world.pa.id))
    before = _snapshot(db)
    headers = world.headers("auditor")
    adapter = app.url_map.bind("localhost")
    tried = 0
    for rule, method in _mutating_rules(app):
        if not rule.endpoint.startswith("api."):
            continue
        triggers = sorted(action_models()) if "trigger" in rule.arguments else [None]
        for trigger in triggers:
            values = _values(rule, world, attachment_id) | ({"trigger": trigger} if trigger else {})
            url = adapter.build(rule.endpoint, values, method=method)
            if rule.endpoint == "api.upload":
                r = client.open(url, method=method, headers=headers, content_type="multipart/form-data",
                                data={"kind": "quotes", "file": (io.BytesIO(PDF), "a.pdf")})
            else:  # well-formed bodies, so the refusal is about who asks, not what was sent
                body = {} if trigger else {"title": "Auditor was here", "category": "machinery",
                                           "sector": "agro_processing", "year": 2026}
                if rule.endpoint == "api.patch_proposal":
                    body = {"title": "Auditor was here"}
                r = client.open(url, method=method, headers=headers, json=body)
            # Our own endpoints get a well-formed body, so they must refuse for who asks; other areas' bodies
            # are not known here, so a 422 is a refusal too. Either way nothing may change (checked below).
            allowed = (403, 409) if rule.endpoint in OWN_ENDPOINTS else (403, 409, 422)
            assert r.status_code in allowed, f"{method} {url} answered {r.status_code}: {r.get_json()}"
            tried += 1
    assert tried >= 10
    assert _snapshot(db) == before


@pytest.mark.parametrize(("trigger", "inputs"), [("forward", {"comment": "x"}), ("withdraw", {"reason": "x"})])
def test_auditor_refusals_are_403_with_read_only_reason(client, world, trigger, inputs):
    submitted = client.post(f"/api/v1/proposals/{world.pa.id}/actions/submit", headers=world.headers("applicant_a"))
    assert submitted.status_code == 200  # a draft would be a 404 for the auditor (docs/privacy.md)
    r = client.post(f"/api/v1/proposals/{world.pa.id}/actions/{trigger}", headers=world.headers("auditor"),
                    json=inputs)
    assert r.status_code == 403
    assert [x["code"] for x in r.get_json()["reasons"]] == ["read_only"]
