"""The admin area: users, role grants validated against role scopes, units; every change audited."""

from __future__ import annotations

import pytest
from api.world import BOTH_DATABASES, ROLES
from conftest import PASSWORD, csrf_token, login
from sqlalchemy import select

from app.models import RoleGrant, Unit, User
from workflow.audit import AuditEvent, verify_chain

pytestmark = BOTH_DATABASES

PAGES = ["/admin/users", "/admin/users/{user}", "/admin/units", "/admin/caps"]
NEW_PASSWORD = "mat-khau-moi-2026"


def _post(client, url, data, page="/admin/users"):
    return client.post(url, data={**data, "csrf_token": csrf_token(client, page)})


def _events(db, subject_type, subject_id):
    events = db.scalars(select(AuditEvent).where(AuditEvent.subject_type == subject_type,
                                                 AuditEvent.subject_id == str(subject_id))
                        .order_by(AuditEvent.seq)).all()
    db.commit()  # end the read: on SQLite every transaction holds the write lock (objects stay loaded)
    return events


def _grants(db, user_id):
    grants = {(g.role, g.unit_code) for g in db.scalars(select(RoleGrant).where(RoleGrant.user_id == user_id))}
    db.commit()
    return grants


@pytest.fixture
def admin_client(client, world):
    assert login(client, "admin").status_code == 302
    return client


@pytest.mark.parametrize("page", PAGES)
@pytest.mark.parametrize("who", sorted(ROLES))
def test_admin_pages_are_for_admins_only(client, world, who, page):
    login(client, who)
    r = client.get(page.format(user=world.users["centre"].id))
    assert r.status_code == (200 if who == "admin" else 403)


def test_create_user_is_audited(admin_client, db):
    r = _post(admin_client, "/admin/users", {"username": "can_bo_moi", "full_name": "Nguyễn Văn Mới",
                                              "email": "", "organisation_id": "0", "language": "vi",
                                              "password": NEW_PASSWORD})
    assert r.status_code == 303, r.get_data(as_text=True)
    user = db.scalar(select(User).where(User.username == "can_bo_moi"))
    assert user.full_name == "Nguyễn Văn Mới" and user.check_password(NEW_PASSWORD)
    assert NEW_PASSWORD not in user.password_hash
    [event] = _events(db, "user", user.id)
    assert (event.action, event.outcome, event.actor_role) == ("admin.create_user", "created", "admin")
    assert NEW_PASSWORD not in event.body


@pytest.mark.parametrize(("data", "status", "message"), [
    ({"username": "applicant_a"}, 422, "This username is taken"),
    ({"username": "Bad Name!"}, 422, "lower-case"),
    ({"password": "short"}, 422, "10"),
    ({"full_name": ""}, 422, ""),
])
def test_create_user_rejects_bad_input(admin_client, db, data, status, message):
    before = db.scalar(select(User.id).order_by(User.id.desc()))
    db.commit()
    admin_client.post("/language", data={"lang": "en", "csrf_token": csrf_token(admin_client, "/admin/users")})
    form = {"username": "nguoi_moi", "full_name": "Người Mới", "organisation_id": "0", "language": "vi",
            "password": NEW_PASSWORD, **data}
    r = _post(admin_client, "/admin/users", form)
    assert r.status_code == status and message in r.get_data(as_text=True)
    assert db.scalar(select(User.id).order_by(User.id.desc())) == before


@pytest.mark.parametrize(("role", "unit", "ok"), [
    ("district_officer", "171", True),
    ("district_officer", "05830", False),   # a commune for a district role
    ("district_officer", "19", False),
    ("district_officer", "", False),
    ("commune_officer", "05830", True),
    ("commune_officer", "171", False),
    ("director", "19", True),
    ("director", "171", False),
    ("applicant", "", False),               # the target user acts for no organisation
    ("auditor", "19", True),
])
def test_grant_is_validated_against_the_roles_scope(admin_client, world, db, role, unit, ok):
    target = world.users["council"]
    r = _post(admin_client, f"/admin/users/{target.id}/grants", {"role": role, "unit_code": unit})
    assert r.status_code == (303 if ok else 422), r.get_data(as_text=True)[:500]
    assert ((role, unit or None) in _grants(db, target.id)) == ok
    events = _events(db, "user", target.id)
    assert [e.action for e in events] == (["admin.grant_role"] if ok else [])


def test_unknown_role_and_duplicate_grant(admin_client, world):
    target = world.users["council"]
    assert _post(admin_client, f"/admin/users/{target.id}/grants",
                 {"role": "emperor", "unit_code": "19"}).status_code == 422
    r = _post(admin_client, f"/admin/users/{target.id}/grants", {"role": "council_member", "unit_code": "19"})
    assert r.status_code == 422


def test_remove_grant_is_audited_and_own_admin_role_is_kept(admin_client, world, db):
    target = world.users["district_own"]
    [grant] = target.grants
    r = _post(admin_client, f"/admin/users/{target.id}/grants/{grant.id}/delete", {})
    assert r.status_code == 303
    assert _grants(db, target.id) == set()
    assert [e.action for e in _events(db, "user", target.id)] == ["admin.revoke_role"]
    admin = world.users["admin"]
    r = _post(admin_client, f"/admin/users/{admin.id}/grants/{admin.grants[0].id}/delete", {})
    assert r.status_code == 409
    assert _grants(db, admin.id) == {("admin", "19")}


def test_deactivate_blocks_login_and_tokens(admin_client, client, world, db):
    target = world.users["centre"]
    r = _post(admin_client, f"/admin/users/{target.id}/active", {"active": "0"})
    assert r.status_code == 303
    assert client.get("/api/v1/units", headers=world.headers("centre")).status_code == 401
    assert [e.diff for e in _events(db, "user", target.id)] == [{"is_active": [True, False]}]
    admin_client.post("/logout", data={"csrf_token": csrf_token(admin_client, "/admin/users")})
    assert login(client, "centre").status_code == 401
    login(client, "admin")
    admin = world.users["admin"]
    assert _post(client, f"/admin/users/{admin.id}/active", {"active": "0"}).status_code == 409


def test_reset_password(admin_client, client, world, db):
    target = world.users["director"]
    r = _post(admin_client, f"/admin/users/{target.id}/password", {"password": NEW_PASSWORD, "confirm": "khac"})
    assert r.status_code == 422
    r = _post(admin_client, f"/admin/users/{target.id}/password", {"password": NEW_PASSWORD,
                                                                    "confirm": NEW_PASSWORD})
    assert r.status_code == 303
    [event] = _events(db, "user", target.id)
    assert event.action == "admin.reset_password" and NEW_PASSWORD not in event.body
    admin_client.post("/logout", data={"csrf_token": csrf_token(admin_client, "/admin/users")})
    assert login(client, "director", PASSWORD).status_code == 401
    assert login(client, "director", NEW_PASSWORD).status_code == 302


def test_add_commune(admin_client, db):
    r = _post(admin_client, "/admin/units", {"code": "05999", "name": "Xã Thử Nghiệm", "district_code": "171"},
              page="/admin/units")
    assert r.status_code == 303
    unit = db.get(Unit, "05999")
    assert (unit.level, unit.parent_code, unit.district_code) == ("commune", "171", "171")
    [event] = _events(db, "unit", "05999")
    assert (event.action, event.outcome) == ("admin.add_commune", "created")
    assert "Xã Thử Nghiệm" in admin_client.get("/admin/units").get_data(as_text=True)


def test_an_added_commune_can_be_chosen_named_and_searched(admin_client, app, db):
    """A commune an admin adds is a real unit at once: in the proposal form, on pages and in search."""
    _post(admin_client, "/admin/units", {"code": "05999", "name": "Xã Thử Nghiệm", "district_code": "171"},
          page="/admin/units")
    applicant = app.test_client()
    assert login(applicant, "applicant_a").status_code == 302
    assert 'value="05999"' in applicant.get("/proposals/new").get_data(as_text=True)
    created = applicant.post("/proposals/new", data={
        "title": "Máy ép mía", "commune_code": "05999", "category": "machinery", "sector": "agro_processing",
        "year": "2026", "total_cost": "300.000.000", "requested_support": "100.000.000",
        "counterpart_funds": "200.000.000", "duration_months": "12", "expected_jobs": "3",
        "csrf_token": csrf_token(applicant, "/proposals/new")})
    assert created.status_code == 303, created.get_data(as_text=True)
    detail = applicant.get(created.headers["Location"]).get_data(as_text=True)
    assert "Xã Thử Nghiệm" in detail and "Xã Thử Nghiệm, Huyện Đại Từ" not in detail  # filed after 1/7/2025: no district
    found = applicant.get("/proposals?q=thu+nghiem").get_data(as_text=True)
    assert "Máy ép mía" in found


@pytest.mark.parametrize("data", [{"code": "05830", "name": "Trùng mã"}, {"code": "12", "name": "Sai mã"},
                                  {"code": "05998", "name": ""}, {"code": "05997", "name": "X", "district_code": "1"}])
def test_add_commune_rejects_bad_input(admin_client, db, data):
    r = _post(admin_client, "/admin/units", {"district_code": "", **data}, page="/admin/units")
    assert r.status_code == 422
    assert db.get(Unit, data["code"]) is None or data["code"] == "05830"


def test_admin_events_are_on_the_verified_chain(admin_client, world, db):
    _post(admin_client, f"/admin/users/{world.users['council'].id}/grants", {"role": "auditor", "unit_code": "19"})
    result = verify_chain(db)
    assert result.ok
    assert any(e.action == "admin.grant_role" for e in _events(db, "user", world.users["council"].id))


def test_caps_page_shows_each_rule_and_marks_unconfirmed_figures(admin_client):
    html = admin_client.get("/admin/caps").get_data(as_text=True)
    row_2018 = html[html.index('id="cap-default-2-machinery"'):]
    row_2018 = row_2018[:row_2018.index("</tr>")]
    assert "300.000.000" in row_2018 and "Điều 8 khoản 4" in row_2018 and "Chưa xác nhận" not in row_2018
    row_demo = html[html.index('id="cap-default-2-demonstration"'):]
    assert "Chưa xác nhận" in row_demo[:row_demo.index("</tr>")]
    assert "Thông tư 28/2018/TT-BTC" in html and "26/2014/TTLT-BTC-BCT" in html
