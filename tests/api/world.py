"""A small province for request tests: one user per role (own and other unit), proposals in two districts,
and an API token per user.

Org A sits in Đại Từ (commune 05830), district Đại Từ (171); org B in Hương Sơn (05908), Phú Bình (173).
``pa`` is org A's draft under v1 (district review), ``pb`` org B's; both are complete enough to submit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest
from conftest import COMMUNE, DISTRICT, OTHER_COMMUNE, OTHER_DISTRICT, PROVINCE, _make_app

from app.api.tokens import issue_token
from app.models import Attachment, User

# Modules that also run on PostgreSQL: ``pytestmark = BOTH_DATABASES`` (the big matrices stay on SQLite).
BOTH_DATABASES = pytest.mark.parametrize(
    "app", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True)

# name -> grants; applicants get an organisation from make_user.
ROLES: dict[str, list[tuple[str, str | None]]] = {
    "applicant_a": [("applicant", None)],
    "applicant_b": [("applicant", None)],
    "district_own": [("district_officer", DISTRICT)],
    "district_other": [("district_officer", OTHER_DISTRICT)],
    "commune_own": [("commune_officer", COMMUNE)],
    "commune_other": [("commune_officer", OTHER_COMMUNE)],
    "centre": [("centre_officer", PROVINCE)],
    "council": [("council_member", PROVINCE)],
    "director": [("director", PROVINCE)],
    "auditor": [("auditor", PROVINCE)],
    "admin": [("admin", PROVINCE)],
}
# Who sees org A's proposal (in commune 05830, former district 171): not "council", since
# a council member sees only the proposals they are assigned to
SEES_A = {"applicant_a", "district_own", "commune_own", "centre", "director", "auditor", "admin"}
DOSSIER = ("business_registration", "quotes", "non_duplication")


@dataclass
class World:
    users: dict[str, User]
    tokens: dict[str, str]
    pa: Any
    pb: Any
    extra: dict[str, Any] = field(default_factory=dict)

    def headers(self, who: str, lang: str | None = None) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {self.tokens[who]}"}
        if lang:
            headers["Accept-Language"] = lang
        return headers


def add_dossier(db: Any, proposal: Any) -> None:
    """The registration documents, inserted directly: fixtures, not the upload path under test."""
    for i, kind in enumerate(DOSSIER):
        db.add(Attachment(proposal_id=proposal.id, kind=kind, original_name=f"{kind}.pdf",
                          stored_name=f"fixture-{proposal.id}-{i}.pdf", content_type="application/pdf",
                          size=10, sha256="0" * 64))
    db.commit()


def build_world(db: Any, make_user: Any, make_org: Any, make_proposal: Any) -> World:
    org_a = make_org(name="Hợp tác xã chè Hùng Sơn", commune_code=COMMUNE)
    org_b = make_org(name="Hộ kinh doanh mây tre Hương Sơn", commune_code=OTHER_COMMUNE)
    users = {}
    for name, grants in ROLES.items():
        org = org_a if name == "applicant_a" else org_b if name == "applicant_b" else None
        users[name] = make_user(name, grants, organisation=org)
    tokens = {name: issue_token(db, user, "tests") for name, user in users.items()}
    db.commit()
    pa = make_proposal(users["applicant_a"], version=1, year=2024, title="Máy sao chè Đại Từ")
    pb = make_proposal(users["applicant_b"], version=1, year=2024, title="Máy chẻ tre Phú Bình")
    for p in (pa, pb):
        add_dossier(db, p)
    return World(users, tokens, pa, pb)


@pytest.fixture
def app(request, tmp_path):
    """The app on SQLite, or on PostgreSQL when a module asks for it (see BOTH_DATABASES)."""
    database = getattr(request, "param", "sqlite")
    application = _make_app(request.getfixturevalue(f"{database}_url"), tmp_path)
    yield application
    application.extensions["db_engine"].dispose()


@pytest.fixture
def world(db, make_user, make_org, make_proposal):
    return build_world(db, make_user, make_org, make_proposal)
