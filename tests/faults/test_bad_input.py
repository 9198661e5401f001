"""Inputs that used to be 500s: each now gets a 4xx with a message, and nothing is written."""

from __future__ import annotations

import datetime as dt
import io
import re
from collections import deque

import pytest
from conftest import login
from sqlalchemy import func, select

from app.models import Proposal, User
from workflow import operations
from workflow.audit import AuditEvent
from workflow.registry import default_registry

pytestmark = pytest.mark.faults
HUGE = (2**31, 2**63, 2**70)


def _rows(db) -> tuple[int, int]:
    counts = (db.scalar(select(func.count()).select_from(Proposal)),
              db.scalar(select(func.count()).select_from(AuditEvent)))
    db.rollback()  # SQLite: release the write lock before the next request
    return counts


def _into_state_for(db, proposal_id: int, action: str, importer) -> None:
    """Move the proposal, by imported decisions along its definition, to the nearest state where ``action`` may be
    taken: the action's role and state are checked before its inputs (403/409 before 422)."""
    db.expire_all()  # the request just moved it
    proposal = db.get(Proposal, proposal_id)
    compiled = default_registry().for_subject(proposal)
    wanted = set(compiled.action_rules[action].sources)
    paths: dict[str, list[tuple[str, str]]] = {proposal.wf_state: []}
    queue = deque([proposal.wf_state])
    while queue and not wanted & paths.keys():
        state = queue.popleft()
        for rule in compiled.rules:
            if state in rule.sources and rule.dest not in paths:
                paths[rule.dest] = [*paths[state], (rule.trigger, rule.dest)]
                queue.append(rule.dest)
    path = paths[min(wanted & paths.keys(), key=lambda s: len(paths[s]))]
    for trigger, dest in path:
        operations.import_event(db, proposal, db.get(User, importer.id).actor(), trigger, dest=dest,
                                effective_at=dt.datetime.now(dt.UTC))
    db.commit()


@pytest.mark.parametrize("value", HUGE)
@pytest.mark.parametrize(("who", "path", "body"), [
    ("centre", "/api/v1/proposals/{pid}/council/members", lambda v: {"user_id": v}),
    ("director", "/api/v1/funding/decisions", lambda v: {"envelope_id": v, "proposal_ids": [1],
                                                         "decision_number": "1/QĐ", "decision_date": "2026-05-01"}),
    ("director", "/api/v1/funding/decisions", lambda v: {"envelope_id": 1, "proposal_ids": [v],
                                                         "decision_number": "1/QĐ", "decision_date": "2026-05-01"}),
    ("centre", "/api/v1/proposals/{pid}/indicators", lambda v: {"key": "jobs", "target": v * 2**64}),
    ("centre", "/api/v1/proposals/{pid}/indicators", lambda v: {"key": "jobs", "actual": -v * 2**64}),
    ("applicant_a", "/api/v1/proposals/{pid}", lambda v: {"title": "Tên mới", "expected_version": v}),
])
def test_ids_and_numbers_too_large_for_their_column_are_422(client, world, db, who, path, body, value):
    url = path.format(pid=world.pa.id)
    if "{pid}/" in path:  # the centre's stage pages: a draft is its applicant's alone (404), so submit it first
        r = client.post(f"/api/v1/proposals/{world.pa.id}/actions/submit", headers=world.headers("applicant_a"),
                        json={})
        assert r.status_code == 200, r.get_json()
        action = "assign_council_member" if path.endswith("/members") else "record_indicator"
        _into_state_for(db, world.pa.id, action, world.users["admin"])
    before = _rows(db)
    method = client.patch if path.endswith("{pid}") else client.post
    r = method(url, headers=world.headers(who), json=body(value))
    assert r.status_code == 422, r.get_data(as_text=True)
    assert r.get_json()["reasons"], r.get_json()
    assert _rows(db) == before


def test_duplicate_json_keys_are_refused(client, world, db):
    before = _rows(db)
    body = b'{"title": "A", "title": "B", "category": "machinery", "sector": "agro_processing", "year": 2027}'
    r = client.post("/api/v1/proposals", headers={**world.headers("applicant_a"), "Content-Type": "application/json"},
                    data=body)
    assert r.status_code == 422 and r.get_json()["reasons"][0]["subject"] == "title"
    assert "title" in r.get_json()["reasons"][0]["message"]
    assert _rows(db) == before


def test_a_chunked_body_over_the_limit_is_413(app, client, world):
    app.config["MAX_CONTENT_LENGTH"] = 64 * 1024
    body = b'{"title": "' + b"a" * (256 * 1024) + b'"}'
    r = client.post("/api/v1/proposals", input_stream=io.BytesIO(body),
                    headers={**world.headers("applicant_a"), "Content-Type": "application/json",
                             "Transfer-Encoding": "chunked"},
                    environ_overrides={"wsgi.input_terminated": True})  # as gunicorn sets for chunked bodies
    assert r.status_code == 413 and r.is_json


@pytest.mark.parametrize("year", ["²", "١٢", "100000000000000000000", "-1", "2026 "])
def test_odd_year_filters_are_ignored_not_500(app, world, year):
    r = _web_client(app).get("/proposals", query_string={"year": year})
    assert r.status_code == 200


def _web_client(app):
    client = app.test_client()
    assert login(client, "applicant_a").status_code == 302
    return client


def _edit_form(client, pid) -> dict[str, str]:
    page = client.get(f"/proposals/{pid}/edit").get_data(as_text=True)
    fields = dict(re.findall(r'name="(csrf_token|expected_version)"[^>]*value="([^"]*)"', page))
    return {**fields, "title": "Máy sao chè mới", "commune_code": "05830", "category": "machinery",
            "sector": "agro_processing", "year": "2024", "total_cost": "400000000",
            "requested_support": "190000000", "counterpart_funds": "210000000", "duration_months": "12",
            "expected_jobs": "3"}


def test_a_web_edit_without_the_text_fields_saves_them_empty(app, world, db):
    client, pid = _web_client(app), world.pa.id
    form = _edit_form(client, pid)  # no objectives, expected_results, expected_output at all
    r = client.post(f"/proposals/{pid}/edit", data=form)
    assert r.status_code == 303, r.get_data(as_text=True)[:500]
    proposal = db.get(Proposal, pid, populate_existing=True)
    assert (proposal.title, proposal.objectives, proposal.expected_output) == ("Máy sao chè mới", "", "")


@pytest.mark.parametrize("version", ["abc", "", "²", "1e3"])
def test_a_web_edit_with_a_bad_version_is_refused(app, world, db, version):
    client, pid = _web_client(app), world.pa.id
    form = {**_edit_form(client, pid), "expected_version": version}
    before = _rows(db)
    r = client.post(f"/proposals/{pid}/edit", data=form)
    assert r.status_code == 409 and "Máy sao chè mới" in r.get_data(as_text=True)  # typed values kept
    assert _rows(db) == before


@pytest.mark.parametrize("version", ["abc", "²", "1e3", "-1"])
def test_a_web_action_with_a_bad_version_is_refused_not_run_unchecked(app, world, db, version):
    client, pid = _web_client(app), world.pa.id
    url = f"/proposals/{pid}/actions/submit"
    page = client.get(url).get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]*)"', page).group(1)
    before = _rows(db)
    r = client.post(url, data={"csrf_token": token, "expected_version": version})
    assert r.status_code == 409
    assert _rows(db) == before and db.get(Proposal, pid, populate_existing=True).wf_state == "draft"


def test_a_database_error_page_renders_after_rolling_back(app, world, db):
    """An IntegrityError in a view: a 409 page in Vietnamese, rendered although the session had failed."""
    from app.access import public
    from app.extensions import db_session

    taken = world.pa.code
    db.rollback()

    @app.route("/_clash")
    @public
    def _clash():
        proposal = db_session().scalars(select(Proposal).where(Proposal.code != taken)).first()
        proposal.code = taken
        db_session().flush()
        return "unreachable"

    r = _web_client(app).get("/_clash")
    assert r.status_code == 409 and "chưa được lưu" in r.get_data(as_text=True)
    assert "Applicant A" in r.get_data(as_text=True)  # the header, read from the database, rendered
