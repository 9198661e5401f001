"""Every page as every role, own versus other scope (a parametrized matrix), plus route completeness."""

from __future__ import annotations

import io
from typing import Any

import pytest
from conftest import ROLES, World, tiny_pdf, token

PROVINCE_ROLES = ("centre", "director", "auditor", "admin")  # a council member sees only assigned proposals
APPLICANTS = ("applicant_own", "applicant_other")


def expect(default: int, anonymous: int = 302, **overrides: int) -> dict[str, int]:
    table = dict.fromkeys(ROLES, default)
    table["anonymous"] = anonymous
    table.update(overrides)
    return table


# Scope of the proposal under test: it belongs to applicant_own, in district_own's district. It is a draft, so
# private to its organisation until submitted (docs/privacy.md): every other role gets 404, in scope or not.
IN_SCOPE = {"applicant_own": 200, "applicant_other": 404, "district_own": 404, "district_other": 404,
            "council": 404, **dict.fromkeys(PROVINCE_ROLES, 404)}
OWNER_ONLY = dict(IN_SCOPE)

# endpoint, method, url (formatted with the world), form data, expected status per role
MATRIX: list[tuple[str, str, str, dict[str, Any] | None, dict[str, int]]] = [
    ("static", "GET", "/static/grantflow.css", None, expect(200, anonymous=200)),
    ("review.home", "GET", "/", None, expect(302)),
    ("auth.login", "GET", "/login", None, expect(302, anonymous=200)),
    ("auth.logout", "POST", "/logout", {}, expect(302)),
    ("auth.change_password", "GET", "/account/password", None, expect(200)),
    ("auth.language", "POST", "/language", {"lang": "en", "next": "/proposals"}, expect(303, anonymous=303)),
    ("review.my_work", "GET", "/my-work", None, expect(200)),
    ("proposals.index", "GET", "/proposals", None, expect(200)),
    ("proposals.new", "GET", "/proposals/new", None, expect(403, **dict.fromkeys(APPLICANTS, 200))),
    ("proposals.detail", "GET", "/proposals/{own}", None, expect(200, **IN_SCOPE)),
    ("proposals.edit", "GET", "/proposals/{own}/edit", None, expect(200, **OWNER_ONLY)),
    ("proposals.action", "GET", "/proposals/{own}/actions/withdraw", None,
     expect(200, **OWNER_ONLY)),
    ("proposals.upload", "POST", "/proposals/{own}/attachments", {"kind": "quotes", "file": "pdf"},
     expect(303, **{**OWNER_ONLY, "applicant_own": 303})),
    ("proposals.download", "GET", "/proposals/{own}/attachments/{attachment}", None, expect(200, **IN_SCOPE)),
    ("proposals.remove", "POST", "/proposals/{own}/attachments/{attachment}/remove", {},
     expect(303, **{**OWNER_ONLY, "applicant_own": 303})),
]


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(("endpoint", "method", "url", "data", "expected"), MATRIX, ids=[m[0] for m in MATRIX])
def test_matrix(world: World, role: str, endpoint: str, method: str, url: str, data: dict[str, Any] | None,
                expected: dict[str, int]) -> None:
    client = world.client(role)
    path = url.format(own=world.own.id, attachment=world.attachment_id)
    if method == "GET":
        response = client.get(path)
    else:
        form = {k: (io.BytesIO(tiny_pdf()), "doc.pdf") if v == "pdf" else v for k, v in (data or {}).items()}
        form["csrf_token"] = token(client)
        response = client.post(path, data=form, content_type="multipart/form-data")
    assert response.status_code == expected[role], (role, endpoint, response.get_data(as_text=True)[:500])
    if response.status_code == 302 and role == "anonymous" and endpoint not in ("static", "review.home"):
        assert "/login" in response.headers["Location"]
    if response.status_code == 404:
        assert world.own.title not in response.get_data(as_text=True)  # out of scope: no data at all


@pytest.mark.parametrize("role", ROLES[1:])
def test_list_shows_only_what_is_in_scope(world: World, role: str) -> None:
    body = world.client(role).get("/proposals").get_data(as_text=True)
    sees_own = world.own.code in body
    sees_other = world.other.code in body
    assert sees_own == (IN_SCOPE[role] == 200)
    assert sees_other == (role == "applicant_other")  # a draft: its organisation's alone


def test_other_proposal_is_404_for_the_owner_of_the_first(world: World) -> None:
    client = world.client("applicant_own")
    assert client.get(f"/proposals/{world.other.id}").status_code == 404
    # the attachment of one proposal cannot be fetched through another proposal's URL
    other_client = world.client("applicant_other")
    assert other_client.get(f"/proposals/{world.other.id}/attachments/{world.attachment_id}").status_code == 404


def test_every_route_declares_access_and_is_in_the_matrix(app: Any) -> None:
    covered = {m[0] for m in MATRIX}
    mine = {"auth", "proposals", "review"}
    for rule in app.url_map.iter_rules():
        view = app.view_functions[rule.endpoint]
        assert getattr(view, "_access", None), f"{rule.rule} ({rule.endpoint}) has no @public/@requires"
        if rule.endpoint == "static" or rule.endpoint.split(".")[0] in mine:
            assert rule.endpoint in covered, f"{rule.endpoint} is missing from the access matrix"
