"""Issue 14, findings 6 and 7: budget envelopes on their own audited chains, and amounts changed behind the trail
(envelope, funding) caught by `audit verify`. On SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from conftest import _make_app, verified_through_api
from sqlalchemy import text

from workflow import seal
from workflow.audit import events_for


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def app(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    application = _make_app(request.getfixturevalue(f"{request.param}_url"), tmp_path)
    yield application
    application.extensions["db_engine"].dispose()


def _problems(app: Any) -> list[str]:
    result = seal.verify(app.extensions["db_engine"])
    return [str(p) for p in result.problems]


def test_envelope_creation_and_commitments_are_on_its_own_chain(app, db, people, walk, make_proposal):
    envelope = walk.envelope(amount=5_000_000_000)
    proposal = walk.to_shortlist(make_proposal(people.applicant))
    walk.fund(proposal, envelope)
    chain = events_for(db, "budget_envelope", envelope.id)
    assert [(e.action, e.outcome) for e in chain] == [("create", "created"), ("commit", "applied")]
    assert chain[0].inputs["amount"] == 5_000_000_000 and chain[0].actor_id == str(people.officer.id)
    assert chain[1].diff == {"committed": [0, proposal.requested_support]}
    assert chain[1].actor_id == str(people.director.id) and chain[1].inputs["proposal_id"] == proposal.id
    assert _problems(app) == []


@pytest.mark.parametrize(("statement", "needle"), [
    ("UPDATE budget_envelope SET amount = amount * 10", "budget_envelope.amount of budget_envelope:"),
    ("UPDATE budget_envelope SET committed = 0", "budget_envelope.committed of budget_envelope:"),
    ("UPDATE funding SET approved_amount = approved_amount / 10", "funding.approved_amount of proposal:"),
], ids=["envelope_amount", "envelope_committed", "funding_amount"])
def test_amounts_changed_behind_the_trail_are_caught(app, db, people, walk, make_proposal, statement, needle):
    envelope = walk.envelope(amount=5_000_000_000)
    proposal = walk.to_shortlist(make_proposal(people.applicant))
    walk.fund(proposal, envelope)
    with app.extensions["db_engine"].begin() as conn:
        conn.execute(text(statement))
    problems = _problems(app)
    assert any(needle in p and "trail last recorded" in p for p in problems), problems


def test_the_auditors_verify_endpoint_reports_data_changed_behind_the_trail(app, db, people, walk, make_proposal):
    from app.api.tokens import issue_token
    from app.models import User

    proposal = walk.to_appraisal(make_proposal(people.applicant))
    token = issue_token(db, db.get(User, people.auditor.id), "verify")
    db.commit()
    headers = {"Authorization": f"Bearer {token}"}
    assert verified_through_api(app.test_client(), headers)["ok"] is True
    with app.extensions["db_engine"].begin() as conn:
        conn.execute(text("UPDATE proposal SET wf_state = 'funded' WHERE id = :i"), {"i": proposal.id})
    body = verified_through_api(app.test_client(), headers)
    assert body["ok"] is False
    assert any(f"proposal:{proposal.id}" in p and "'funded'" in p for p in body["problems"]), body
