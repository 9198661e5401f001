"""Every kind of page in Chromium as each role sees it, on a desktop (1366×900) and a phone (390×844): axe-core
reports no violation and no page scrolls sideways on the phone (tests/e2e/a11y.py). The data: the reports'
sample (proposals in eight states, envelopes, advances) plus the applicant's own draft, a council assignment and
a refused form, so the forms with their messages are checked too."""

from __future__ import annotations

from typing import Any

import pytest

from e2e.a11y import problems
from e2e.conftest import PASSWORD, Cast, LiveServer, People, Person

SIZES = ({"width": 1366, "height": 900}, {"width": 390, "height": 844})


def _world(server: LiveServer, people: People) -> dict[str, Any]:
    """The sample, the applicant's draft, an admin, a council member assigned to the appraisal proposal."""
    from reports.conftest import load_sample
    from sqlalchemy import select

    from app.council import services as council
    from app.models import BudgetEnvelope, Proposal, User
    from app.proposals.services import create_proposal

    admin = Person("e2e_quantri", "Quản Trị Viên", "admin")
    server.cli("create-user", admin.username, "--role", "admin", "--unit", "19", "--password", PASSWORD,
               "--full-name", admin.full_name)
    with server.session() as session:
        sample = load_sample(session)
        applicant = session.scalar(select(User).where(User.username == people.applicant.username))
        draft = create_proposal(session, applicant, {
            "title": "Đầu tư máy sao chè", "commune_code": applicant.organisation.commune_code,
            "category": "machinery", "sector": "agro_processing", "year": 2026, "total_cost": 400_000_000,
            "requested_support": 190_000_000, "counterpart_funds": 210_000_000, "duration_months": 12,
            "objectives": "Nâng cao năng suất", "expected_results": "Tăng sản lượng", "expected_jobs": 5},
            province_code="19")
        appraisal = session.scalar(select(Proposal).where(Proposal.wf_state == "provincial_appraisal"))
        officer = session.scalar(select(User).where(User.username == people.centre_officer.username))
        member = session.scalar(select(User).where(User.username == people.members[0].username))
        council.assign_member(session, appraisal, officer.actor(), {"user_id": member.id})
        envelope = session.scalar(select(BudgetEnvelope).order_by(BudgetEnvelope.id))
        ids = {p.wf_state: p.id for p in session.scalars(select(Proposal))}
        session.commit()
        return {"draft": draft.id, "states": ids, "envelope": envelope.id, "admin": admin,
                "admin_id": session.scalar(select(User.id).where(User.username == admin.username)),
                "sample": sample}


@pytest.mark.browser
def test_every_page_is_accessible_and_fits_a_phone(live_server: LiveServer, people: People, cast: Cast) -> None:
    world = _world(live_server, people)
    states = world["states"]
    proposal_pages = [f"/proposals/{states[s]}" for s in ("local_review", "provincial_appraisal", "implementing",
                                                          "evaluated")]
    visits: list[tuple[Person, list[str]]] = [
        (people.applicant, ["/my-work", "/proposals/new", f"/proposals/{world['draft']}",
                            f"/proposals/{world['draft']}/edit", "/notifications/", "/account/password"]),
        (people.centre_officer, ["/my-work", "/proposals", *proposal_pages, "/funding/envelopes",
                                 f"/funding/envelopes/{world['envelope']}", "/rounds/", "/dashboard", "/reports",
                                 f"/proposals/{states['provincial_appraisal']}/actions/return_for_revision"]),
        (people.members[0], ["/council/", f"/council/proposals/{states['provincial_appraisal']}"]),
        (people.director, [f"/funding/envelopes/{world['envelope']}"]),
        (people.auditor, ["/audit/", f"/audit/proposals/{states['evaluated']}", f"/proposals/{states['settled']}"]),
        (world["admin"], ["/admin/users", f"/admin/users/{world['admin_id']}", "/admin/units", "/admin/reform",
                          "/notifications/outbox"]),
    ]
    found: list[str] = []
    for person, paths in visits:
        cast.step = f"pages of {person.username}"
        page = cast.page(person)
        for size in SIZES:
            page.set_viewport_size(size)
            for path in paths:
                response = page.goto(cast.url(path))
                assert response is not None and response.status < 400, f"{path} as {person.username}: " \
                    f"{response.status if response else 'no answer'}"
                found += [f"{person.username} {size['width']} {path}: {p}" for p in problems(page)]
    # a refused form, as the user sees it: the messages and summary must be accessible too
    cast.step = "a refused form"
    page = cast.page(people.centre_officer)
    for size in SIZES:
        page.set_viewport_size(size)
        page.goto(cast.url("/funding/envelopes"))
        page.fill("#envelope-year", "1800")
        page.fill("#envelope-amount", "không")
        with page.expect_navigation():
            page.click("#envelope-submit")
        assert page.locator("#envelope-form-summary").is_visible()
        found += [f"refused envelope form {size['width']}: {p}" for p in problems(page)]
    if found:
        cast.save("test_every_page_is_accessible_and_fits_a_phone")
    assert not found, f"{len(found)} problems:\n" + "\n".join(found)
