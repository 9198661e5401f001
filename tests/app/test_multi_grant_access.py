"""Authorization matrix for users holding several grants: role combination × route × own/other proposal.

``world.own`` is a draft of the Đại Từ organisation (district 171), ``world.other`` of the Phú Bình one (173), each
owned by its applicant. A user's rights are the union of their grants, never more: a second grant widens what the
user sees but never lets one grant borrow another's permissions (an officer who is also an applicant elsewhere
still cannot edit a draft they do not own).
"""

from __future__ import annotations

from typing import Any

import pytest
from conftest import DISTRICT, OTHER_COMMUNE, OTHER_DISTRICT, PROVINCE, World, login

# name -> (grants, whose organisation the user acts for: "own", "other" or None)
USERS: dict[str, tuple[list[tuple[str, str | None]], str | None]] = {
    "applicant_other+district_own": ([("applicant", None), ("district_officer", DISTRICT)], "other"),
    "applicant_own+district_other": ([("applicant", None), ("district_officer", OTHER_DISTRICT)], "own"),
    "district_own+district_other": ([("district_officer", DISTRICT), ("district_officer", OTHER_DISTRICT)], None),
    "auditor+applicant_other": ([("auditor", PROVINCE), ("applicant", None)], "other"),
    "district_other+commune_other": ([("district_officer", OTHER_DISTRICT), ("commune_officer", OTHER_COMMUNE)],
                                     None),
}

ROUTES = {
    "detail": "/proposals/{id}",
    "edit": "/proposals/{id}/edit",
    "withdraw": "/proposals/{id}/actions/withdraw",
    "download": "/proposals/{id}/attachments/{attachment}",
}

# (user, route) -> expected status for (own proposal, other proposal). Both are drafts, private to their
# organisation until submitted (docs/privacy.md): an officer's grant, whatever its scope, does not reach them.
EXPECTED: dict[tuple[str, str], tuple[int, int]] = {
    ("applicant_other+district_own", "detail"): (404, 200),
    ("applicant_other+district_own", "edit"): (404, 200),
    ("applicant_other+district_own", "withdraw"): (404, 200),
    ("applicant_other+district_own", "download"): (404, 404),
    ("applicant_own+district_other", "detail"): (200, 404),
    ("applicant_own+district_other", "edit"): (200, 404),
    ("applicant_own+district_other", "withdraw"): (200, 404),
    ("applicant_own+district_other", "download"): (200, 404),
    ("district_own+district_other", "detail"): (404, 404),
    ("district_own+district_other", "edit"): (404, 404),
    ("district_own+district_other", "withdraw"): (404, 404),
    ("district_own+district_other", "download"): (404, 404),
    ("auditor+applicant_other", "detail"): (404, 200),
    ("auditor+applicant_other", "edit"): (404, 200),
    ("auditor+applicant_other", "withdraw"): (404, 200),
    ("auditor+applicant_other", "download"): (404, 404),
    ("district_other+commune_other", "detail"): (404, 404),
    ("district_other+commune_other", "edit"): (404, 404),
    ("district_other+commune_other", "withdraw"): (404, 404),
    ("district_other+commune_other", "download"): (404, 404),
}


@pytest.fixture
def multi(world: World, make_user: Any, db: Any) -> dict[str, Any]:
    organisations = {"own": world.users["applicant_own"].organisation_id,
                     "other": world.users["applicant_other"].organisation_id}
    from app.models import Organisation

    users = {}
    for index, (name, (grants, org)) in enumerate(USERS.items()):
        organisation = db.get(Organisation, organisations[org]) if org else None
        users[name] = make_user(f"multi_{index}", grants, organisation=organisation)
    db.rollback()
    return users


@pytest.mark.parametrize("user_name", USERS)
def test_several_grants_give_the_union_and_nothing_more(world: World, multi: dict[str, Any], user_name: str) -> None:
    client = world.app.test_client()
    assert login(client, multi[user_name].username).status_code == 302
    for route, url in ROUTES.items():
        for which, proposal in (("own", world.own), ("other", world.other)):
            path = url.format(id=proposal.id, attachment=world.attachment_id)
            status = client.get(path).status_code
            expected = EXPECTED[(user_name, route)][0 if which == "own" else 1]
            assert status == expected, (user_name, route, which, status)
    listed = client.get("/proposals").get_data(as_text=True)
    assert (world.own.code in listed) == (EXPECTED[(user_name, "detail")][0] == 200)
    assert (world.other.code in listed) == (EXPECTED[(user_name, "detail")][1] == 200)

