"""The API's status-code mapping (401/403/404/409/422), its payload validation and its error language."""

from __future__ import annotations

import io

import pytest
from conftest import OTHER_DISTRICT, PROVINCE
from sqlalchemy import delete, select, update

from api.world import BOTH_DATABASES
from app.api.tokens import issue_token
from app.models import ApiToken, Proposal, ProposalCodeCounter, User
from workflow.audit import AuditEvent

pytestmark = BOTH_DATABASES

NEW = {"title": "Lò sấy chè", "category": "machinery", "sector": "agro_processing", "year": 2026}


def _submit(client, world, proposal, who="applicant_a"):
    r = client.post(f"/api/v1/proposals/{proposal.id}/actions/submit", headers=world.headers(who))
    assert r.status_code == 200, r.get_json()
    return r.get_json()


def _last_id(db):
    last = db.scalar(select(Proposal.id).order_by(Proposal.id.desc()))
    db.commit()  # end the read: on SQLite every transaction holds the write lock
    return last


# --- 401 --------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("header", [None, "Bearer", "Bearer not-a-token", "Basic YWRtaW46YWRtaW4=", "gf_abc"])
def test_401_without_a_valid_token(client, world, header):
    headers = {"Authorization": header} if header else {}
    r = client.get(f"/api/v1/proposals/{world.pa.id}", headers=headers)
    assert r.status_code == 401
    assert r.headers["WWW-Authenticate"].startswith("Bearer")
    assert r.get_json() == {"error": r.get_json()["error"], "reasons": []}
    assert "Bearer" in r.get_json()["error"]


def test_401_for_revoked_token_and_inactive_user(client, world, db):
    db.execute(update(ApiToken).where(ApiToken.user_id == world.users["centre"].id).values(revoked=True))
    db.execute(update(User).where(User.id == world.users["director"].id).values(is_active=False))
    db.commit()
    assert client.get("/api/v1/units", headers=world.headers("centre")).status_code == 401
    assert client.get("/api/v1/units", headers=world.headers("director")).status_code == 401
    assert client.get("/api/v1/units", headers=world.headers("council")).status_code == 200


def test_only_the_digest_of_a_token_is_stored(world, db):
    token = issue_token(db, world.users["centre"], "script")
    db.commit()
    stored = db.scalars(select(ApiToken.token_hash)).all()
    assert token not in stored and all(len(h) == 64 for h in stored)


def test_session_cookie_does_not_authenticate_the_api(client, world):
    """The API ignores the browser session, so CSRF exemption cannot be abused."""
    from conftest import login

    assert login(client, "applicant_a").status_code == 302
    assert client.get("/api/v1/units").status_code == 401
    r = client.post("/api/v1/proposals", json=NEW)
    assert r.status_code == 401


# --- 403 --------------------------------------------------------------------------------------------------

def test_403_role_with_reasons(client, world):
    _submit(client, world, world.pa)
    r = client.post(f"/api/v1/proposals/{world.pa.id}/actions/forward", headers=world.headers("applicant_a"),
                    json={"comment": "x"})
    assert r.status_code == 403
    assert [x["code"] for x in r.get_json()["reasons"]] == ["role"]


def test_403_scope_with_reasons(client, world, make_user, db):
    """Sees the proposal through one grant, but the acting role's grant covers another district."""
    user = make_user("two_hats", [("district_officer", OTHER_DISTRICT), ("auditor", PROVINCE)])
    token = issue_token(db, user, "t")
    db.commit()
    _submit(client, world, world.pa)
    r = client.post(f"/api/v1/proposals/{world.pa.id}/actions/forward",
                    headers={"Authorization": f"Bearer {token}"}, json={"comment": "x"})
    assert r.status_code == 403
    assert "scope" in [x["code"] for x in r.get_json()["reasons"]]


def test_403_separation_of_duties(client, world, make_user, db):
    """Whoever forwarded a proposal may not approve its funding."""
    user = make_user("dual", [("district_officer", "171"), ("director", PROVINCE)])
    token = issue_token(db, user, "t")
    db.execute(update(Proposal).where(Proposal.id == world.pa.id).values(
        wf_state="shortlisted", wf_fired_by={"forward": [str(user.id)]}))
    db.commit()
    r = client.post(f"/api/v1/proposals/{world.pa.id}/actions/approve_funding",
                    headers={"Authorization": f"Bearer {token}"},
                    json={"approved_amount": 150_000_000, "decision_number": "12/QĐ-UBND",
                          "decision_date": "2026-03-01"})
    assert r.status_code == 403, r.get_json()
    assert "separation" in [x["code"] for x in r.get_json()["reasons"]]


def test_403_for_a_role_without_the_permission(client, world):
    r = client.post("/api/v1/proposals", headers=world.headers("centre"), json=NEW)
    assert r.status_code == 403 and r.get_json()["error"]
    assert [x["code"] for x in r.get_json()["reasons"]] == ["role"]
    r = client.get("/api/v1/audit/verify", headers=world.headers("centre", "en"))
    assert r.get_json()["reasons"][0]["message"] == "None of your roles may use this function"


def test_an_unexpected_error_is_a_json_500_without_details(app, client, world):
    """The catch-all: whatever breaks inside an API view, the client gets JSON, never a traceback."""
    def broken():
        raise RuntimeError("secret internal detail")

    broken._access = "public"
    app.add_url_rule("/api/v1/broken", endpoint="api.broken", view_func=broken)
    r = client.get("/api/v1/broken")
    assert r.status_code == 500 and r.is_json
    assert r.get_json() == {"error": "Lỗi hệ thống", "reasons": []}
    assert "secret" not in r.get_data(as_text=True)


# --- 404 --------------------------------------------------------------------------------------------------

def test_404_for_missing_and_out_of_scope_look_the_same(client, world):
    missing = client.get("/api/v1/proposals/999999", headers=world.headers("applicant_a"))
    hidden = client.get(f"/api/v1/proposals/{world.pb.id}", headers=world.headers("applicant_a"))
    assert missing.status_code == hidden.status_code == 404
    assert missing.get_json() == hidden.get_json()


def test_404_for_an_id_no_row_can_have(client, world):
    r = client.patch(f"/api/v1/proposals/{2**40}", headers=world.headers("applicant_a"), json={"title": "x"})
    assert r.status_code == 404 and r.is_json


def test_404_for_an_unknown_trigger(client, world):
    r = client.post(f"/api/v1/proposals/{world.pa.id}/actions/launch_rocket", headers=world.headers("applicant_a"))
    assert r.status_code == 404 and r.get_json()["error"]


# --- 409 --------------------------------------------------------------------------------------------------

def test_409_wrong_state(client, world):
    _submit(client, world, world.pa)
    r = client.post(f"/api/v1/proposals/{world.pa.id}/actions/submit", headers=world.headers("applicant_a"))
    assert r.status_code == 409
    assert r.get_json()["reasons"][0]["code"] == "state"


def test_409_edit_in_a_state_that_is_not_editable(client, world):
    _submit(client, world, world.pa)
    r = client.patch(f"/api/v1/proposals/{world.pa.id}", headers=world.headers("applicant_a"),
                     json={"title": "Muộn rồi"})
    assert r.status_code == 409 and r.get_json()["reasons"][0]["code"] == "edit"


def test_409_stale_version_changes_nothing(client, world, db):
    h = world.headers("applicant_a")
    assert client.patch(f"/api/v1/proposals/{world.pa.id}", headers=h,
                        json={"title": "Lần một", "expected_version": 1}).status_code == 200
    r = client.patch(f"/api/v1/proposals/{world.pa.id}", headers=h, json={"title": "Lần hai", "expected_version": 1})
    assert r.status_code == 409
    assert r.get_json()["current_version"] == 2
    r = client.post(f"/api/v1/proposals/{world.pa.id}/actions/submit", headers=h, json={"expected_version": 1})
    assert r.status_code == 409
    db.expire_all()
    p = db.get(Proposal, world.pa.id)
    assert (p.title, p.wf_state, p.wf_version) == ("Lần một", "draft", 2)


# --- 422 --------------------------------------------------------------------------------------------------

def test_422_missing_required_input(client, world):
    _submit(client, world, world.pa)
    r = client.post(f"/api/v1/proposals/{world.pa.id}/actions/forward", headers=world.headers("district_own"),
                    json={})
    assert r.status_code == 422
    assert r.get_json()["reasons"] == [{"code": "invalid", "subject": "comment", "message": "Bắt buộc nhập"}]


def test_422_failing_guard(client, world):
    created = client.post("/api/v1/proposals", headers=world.headers("applicant_a"), json=NEW).get_json()
    r = client.post(f"/api/v1/proposals/{created['id']}/actions/submit", headers=world.headers("applicant_a"))
    assert r.status_code == 422
    reasons = r.get_json()["reasons"]
    assert reasons[0]["code"] == "guard" and reasons[0]["subject"] == "dossier_complete"


@pytest.mark.parametrize(("payload", "field", "code"), [
    ({**NEW, "total_cost": 1.5e8}, "total_cost", "int"),  # the same value as 150000000.0
    ({**NEW, "total_cost": "150.000.000"}, "total_cost", "int"),
    ({**NEW, "requested_support": -1}, "requested_support", "range"),
    ({**NEW, "surprise": 1}, "surprise", "extra"),
    ({**NEW, "category": "rockets"}, "category", "choice"),
    ({k: v for k, v in NEW.items() if k != "title"}, "title", "missing"),
    ({**NEW, "title": "   "}, "title", "short"),
    ({**NEW, "priority_region": "yes"}, "priority_region", "bool"),
])
def test_422_invalid_payload(client, world, payload, field, code, db):
    before = _last_id(db)
    r = client.post("/api/v1/proposals", headers=world.headers("applicant_a"), json=payload)
    assert r.status_code == 422, r.get_json()
    assert field in [x["subject"] for x in r.get_json()["reasons"]]
    assert _last_id(db) == before  # nothing half-written


@pytest.mark.parametrize("body", [b"", b"{", b"[]", b"null", b"\xff\xfe"])
def test_422_for_a_body_that_is_not_a_json_object(client, world, body):
    r = client.post("/api/v1/proposals", headers={**world.headers("applicant_a"), "Content-Type": "application/json"},
                    data=body)
    assert r.status_code == 422 and r.get_json()["reasons"]


def test_422_unknown_commune_and_empty_patch(client, world):
    h = world.headers("applicant_a")
    r = client.post("/api/v1/proposals", headers=h, json={**NEW, "commune_code": "99999"})
    assert r.status_code == 422 and r.get_json()["reasons"][0]["subject"] == "commune_code"
    r = client.patch(f"/api/v1/proposals/{world.pa.id}", headers=h, json={"expected_version": 1})
    assert r.status_code == 422
    r = client.patch(f"/api/v1/proposals/{world.pa.id}", headers=h, json={"title": None})
    assert r.status_code == 422


def test_422_action_input_types_are_strict(client, world):
    _submit(client, world, world.pa)
    r = client.post(f"/api/v1/proposals/{world.pa.id}/actions/forward", headers=world.headers("district_own"),
                    json={"comment": 42})
    assert r.status_code == 422
    r = client.post(f"/api/v1/proposals/{world.pa.id}/actions/forward", headers=world.headers("district_own"),
                    json={"comment": "ok", "approved_amount": 5})
    assert r.status_code == 422 and r.get_json()["reasons"][0]["subject"] == "approved_amount"


@pytest.mark.parametrize("query", ["page=0", "per_page=1000", "year=abc"])
def test_422_bad_list_query(client, world, query):
    r = client.get(f"/api/v1/proposals?{query}", headers=world.headers("centre"))
    assert r.status_code == 422


def test_422_upload_disguised_type(client, world):
    r = client.post(f"/api/v1/proposals/{world.pa.id}/attachments", headers=world.headers("applicant_a"),
                    data={"kind": "quotes", "file": (io.BytesIO(b"MZ\x90\x00 not a pdf"), "bao-gia.pdf")},
                    content_type="multipart/form-data")
    assert r.status_code == 422 and r.get_json()["reasons"][0]["subject"] == "file"


def test_413_upload_too_large(app, client, world):
    app.config["MAX_CONTENT_LENGTH"] = 1024
    r = client.post(f"/api/v1/proposals/{world.pa.id}/attachments", headers=world.headers("applicant_a"),
                    data={"kind": "quotes", "file": (io.BytesIO(b"%PDF-1.4\n" + b"0" * 4096), "a.pdf")},
                    content_type="multipart/form-data")
    assert r.status_code == 413 and r.is_json


# --- language ---------------------------------------------------------------------------------------------

def test_errors_in_the_callers_language(client, world):
    path = f"/api/v1/proposals/{world.pa.id}/actions/forward"
    _submit(client, world, world.pa)
    vi = client.post(path, headers=world.headers("district_own"), json={}).get_json()
    en = client.post(path, headers=world.headers("district_own", "en-US,en;q=0.9"), json={}).get_json()
    assert (vi["error"], vi["reasons"][0]["message"]) == ("Dữ liệu không hợp lệ", "Bắt buộc nhập")
    assert (en["error"], en["reasons"][0]["message"]) == ("Invalid data", "This is required")
    r = client.get(f"/api/v1/proposals/{world.pa.id}", headers=world.headers("district_own", "en"))
    assert r.get_json()["state_title"] == "District review"


def test_no_500_for_a_refused_action_and_refusal_is_audited(client, world, db):
    _submit(client, world, world.pa)  # a draft is out of the auditor's scope (404); a submitted file is not
    r = client.post(f"/api/v1/proposals/{world.pa.id}/actions/forward", headers=world.headers("auditor"),
                    json={"comment": "Đủ điều kiện"})
    assert r.status_code == 403
    refused = db.scalars(select(AuditEvent).where(AuditEvent.outcome == "refused")).all()
    assert [(e.action, e.actor_id) for e in refused] == [("forward", str(world.users["auditor"].id))]


def test_nul_characters_are_refused_not_a_database_error(client, world):
    """PostgreSQL text cannot hold NUL: the API answers 422 before the database is asked."""
    h = world.headers("applicant_a")
    r = client.post("/api/v1/proposals", headers=h, json={**NEW, "title": "Máy\x00sấy"})
    assert r.status_code == 422 and r.get_json()["reasons"][0]["subject"] == "title"
    assert client.get("/api/v1/proposals", headers=h, query_string={"q": "a\x00"}).status_code == 422
    _submit(client, world, world.pa)
    r = client.post(f"/api/v1/proposals/{world.pa.id}/actions/forward", headers=world.headers("district_own"),
                    json={"comment": "\x00"})
    assert r.status_code == 422


def test_codes_go_on_after_kc_9999(client, world, db):
    """Codes after KC-2026-9999 sort below it as text: a counter started from existing codes (data from
    before the counter) starts after the highest number, and then simply counts on: 10000, 10001."""
    db.execute(update(Proposal).where(Proposal.id == world.pa.id).values(code="KC-2026-9999"))
    db.execute(delete(ProposalCodeCounter))
    db.commit()
    h = world.headers("applicant_a")
    codes = []
    for _ in range(2):
        r = client.post("/api/v1/proposals", headers=h, json=NEW)
        assert r.status_code == 201, r.get_json()
        codes.append(r.get_json()["code"])
    assert codes == ["KC-2026-10000", "KC-2026-10001"]
