"""Issue 14, finding 3 (grants): no admin grants a role to themselves, and no officer's grant covers the
grantee's own organisation."""

from __future__ import annotations

import pytest
from api.world import BOTH_DATABASES
from conftest import DISTRICT, OTHER_DISTRICT, PROVINCE, login

from audit_admin.test_admin_pages import _events, _grants, _post

pytestmark = BOTH_DATABASES


@pytest.fixture
def admin_client(client, world):
    assert login(client, "admin").status_code == 302
    return client


def test_an_admin_cannot_grant_themselves_a_role(admin_client, world, db):
    admin = world.users["admin"]
    r = _post(admin_client, f"/admin/users/{admin.id}/grants", {"role": "director", "unit_code": PROVINCE})
    assert r.status_code == 422 and "tự cấp" in r.get_data(as_text=True)
    assert _grants(db, admin.id) == {("admin", PROVINCE)}
    assert _events(db, "user", admin.id) == []


@pytest.mark.parametrize(("role", "unit", "ok"), [
    ("district_officer", DISTRICT, False),  # the district of the applicant's own organisation
    ("centre_officer", PROVINCE, False),
    ("district_officer", OTHER_DISTRICT, True),
])
def test_no_grant_covers_the_grantees_own_organisation(admin_client, world, db, role, unit, ok):
    applicant = world.users["applicant_a"]
    r = _post(admin_client, f"/admin/users/{applicant.id}/grants", {"role": role, "unit_code": unit})
    assert r.status_code == (303 if ok else 422), r.get_data(as_text=True)[:300]
    assert ((role, unit) in _grants(db, applicant.id)) == ok
    if not ok:
        assert "xung đột lợi ích" in r.get_data(as_text=True)
