"""A small world for the web tests: users of every role in two districts, and one proposal in each.

Import the fixture into a test module: ``from web_world import world  # noqa: F401``.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from typing import Any

import pytest
from conftest import COMMUNE, DISTRICT, OTHER_COMMUNE, OTHER_DISTRICT, PROVINCE, login

_TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
DOSSIER = ("business_registration", "quotes", "non_duplication")
ROLES = ("anonymous", "applicant_own", "applicant_other", "district_own", "district_other", "centre", "council",
         "director", "auditor", "admin")


def tiny_pdf(text: str = "GrantFlow") -> bytes:
    from app.demo import _pdf

    return _pdf(text)


def token(client: Any) -> str:
    """The session's CSRF token, read from a page with a form (every page has the language form)."""
    page = client.get("/login", follow_redirects=True)
    match = _TOKEN.search(page.get_data(as_text=True))
    assert match, "no CSRF token on the page"
    return match.group(1)


def attach(app: Any, db: Any, proposal: Any, user: Any, kinds: tuple[str, ...] = DOSSIER) -> None:
    """Store real PDF files and attach them through the audited path (as the upload page does)."""
    from app.models import Attachment
    from app.proposals.service import add_attachment
    from app.uploads import store
    from workflow.registry import default_registry

    actor = user.actor()
    compiled = default_registry().for_subject(proposal)
    for kind in kinds:
        with app.app_context():
            stored, mime, size, digest = store(io.BytesIO(tiny_pdf(kind)))
        attachment = Attachment(kind=kind, original_name=f"{kind}.pdf", stored_name=stored, content_type=mime,
                                size=size, sha256=digest)
        add_attachment(db, proposal, actor, attachment, lambda: compiled.explain_edit(proposal, actor))
    db.commit()


@dataclass
class World:
    app: Any
    users: dict[str, Any]
    own: Any  # v1 draft in Đại Từ, owned by applicant_own's organisation
    other: Any  # v1 draft in Phú Bình, owned by applicant_other's organisation
    attachment_id: int

    def client(self, role: str) -> Any:
        client = self.app.test_client()
        if role != "anonymous":
            response = login(client, self.users[role].username)
            assert response.status_code == 302, response.get_data(as_text=True)
        return client


@pytest.fixture
def world(app: Any, db: Any, make_user: Any, make_org: Any, make_proposal: Any) -> World:
    users = {
        "applicant_own": make_user("chu_co_so", "applicant", COMMUNE,
                                   organisation=make_org("Hợp tác xã chè La Bằng", commune_code=COMMUNE)),
        "applicant_other": make_user("co_so_khac", "applicant", OTHER_COMMUNE,
                                     organisation=make_org("Cơ sở cơ khí Đào Xá", commune_code=OTHER_COMMUNE)),
        "district_own": make_user("pkt_daitu", "district_officer", DISTRICT),
        "district_other": make_user("pkt_phubinh", "district_officer", OTHER_DISTRICT),
        "centre": make_user("ttkc", "centre_officer", PROVINCE),
        "council": make_user("hoidong", "council_member", PROVINCE),
        "director": make_user("giamdoc", "director", PROVINCE),
        "auditor": make_user("thanhtra", "auditor", PROVINCE),
        "admin": make_user("quantri", "admin", PROVINCE),
    }
    own = make_proposal(users["applicant_own"], version=1, year=2020, title="Máy sao chè Đại Từ")
    other = make_proposal(users["applicant_other"], version=1, year=2020, title="Máy tiện CNC Phú Bình")
    attach(app, db, own, users["applicant_own"], ("quotes",))
    attachment_id = own.attachments[0].id
    return World(app, users, own, other, attachment_id)
