"""The main pages run a bounded number of queries whatever the number of proposals and events (no N+1).

Each page is requested at two sizes of the same world: a few proposals in every list, then more than a page of
them. The query count must not grow and stays within QUERY_BUDGET."""

from __future__ import annotations

from typing import Any

from conftest import DOSSIER, attach
from sqlalchemy import event, func, select

from app.api.tokens import issue_token
from app.models import Proposal
from app.review.views import proposal_work
from workflow import operations
from workflow.audit import AuditEvent

QUERY_BUDGET = 25
PAGES = [
    ("centre", "/my-work"), ("district_own", "/my-work"), ("applicant_own", "/my-work"),
    ("centre", "/proposals"), ("centre", "/proposals?q=may+sao"), ("centre", "/proposals?page=2"),
    ("district_own", "/proposals?state=provincial_appraisal"), ("auditor", "/audit/"),
    ("auditor", "/audit/?action=submit"), ("auditor", "/audit/?page=2"), ("centre", "/api/v1/proposals"),
    ("centre", "/proposals/{first}"), ("district_own", "/proposals?q=may+sao&year=2020"),
]


def _grow(world: Any, db: Any, make_proposal: Any, count: int) -> None:
    """``count`` more v1 proposals in Đại Từ, submitted with their dossier; every other one forwarded."""
    applicant, district = world.users["applicant_own"], world.users["district_own"]
    for n in range(count):
        proposal = make_proposal(applicant, version=1, year=2020, title=f"Máy sao chè số {n}")
        attach(world.app, db, proposal, applicant, DOSSIER)
        operations.fire(db, proposal, "submit", applicant.actor())
        if n % 2:
            operations.fire(db, proposal, "forward", district.actor(), {"comment": "Đủ hồ sơ"})
        db.commit()


def _counts(world: Any, db: Any) -> dict[tuple[str, str], int]:
    engine = world.app.extensions["db_engine"]
    seen = [0]

    def count(*_args: Any) -> None:
        seen[0] += 1

    token = issue_token(db, world.users["centre"], "perf")
    db.commit()
    out = {}
    first = db.scalar(select(func.min(Proposal.id)).where(Proposal.title == "Máy sao chè số 0"))  # the same page
    db.commit()
    clients = {role: world.client(role) for role in {r for r, _ in PAGES}}
    event.listen(engine, "before_cursor_execute", count)
    try:
        for role, url in PAGES:
            headers = {"Authorization": f"Bearer {token}"} if url.startswith("/api/") else {}
            seen[0] = 0
            response = clients[role].get(url.format(first=first), headers=headers)
            assert response.status_code == 200, (role, url, response.status_code)
            out[(role, url)] = seen[0]
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return out


def test_main_pages_run_a_bounded_number_of_queries(world, db, make_proposal):
    _grow(world, db, make_proposal, 2)
    small = _counts(world, db)
    _grow(world, db, make_proposal, 28)  # more than a page of my work (25) and of the list (20)
    large = _counts(world, db)
    assert all(n <= QUERY_BUDGET for n in large.values()), large
    first_pages = [k for k in large if "page=" not in k[1]]  # second pages are empty in the small world
    assert {k: large[k] for k in first_pages} == {k: small[k] for k in first_pages}, (small, large)
    for role, url in (("centre", "/proposals"), ("auditor", "/audit/")):
        assert 'id="next-page"' in world.client(role).get(url).get_data(as_text=True), url


def test_my_work_pages_follow_on_in_order(world, db, make_proposal):
    _grow(world, db, make_proposal, 7)
    user = world.users["district_own"]
    with world.app.test_request_context():
        everything = proposal_work(db, user, None, per_page=100)
        first = proposal_work(db, user, None, per_page=3)
        second = proposal_work(db, user, first.next_cursor, per_page=3)
    ids = [i["proposal"].id for page in (first, second) for i in page.items]
    assert ids == [i["proposal"].id for i in everything.items] and len(ids) == 4  # 7 submitted, 3 forwarded
    assert first.next_cursor and second.next_cursor is None



def test_audit_csv_streams_in_batches(world, db, make_proposal, monkeypatch):
    import app.audit.log as log

    _grow(world, db, make_proposal, 2)
    monkeypatch.setattr(log, "CSV_BATCH", 3)
    response = world.client("auditor").get("/audit/export.csv", buffered=False)
    assert response.is_streamed
    chunks = list(response.response)
    body = "".join(c.decode() if isinstance(c, bytes) else c for c in chunks)
    lines = body.strip().splitlines()
    events = db.scalar(select(func.count()).select_from(AuditEvent))
    db.rollback()
    assert len(lines) == events + 1 and lines[0].startswith("\ufeffid,")
    assert len(chunks) >= events // 3  # one chunk per batch of 3 events: never the whole trail at once
