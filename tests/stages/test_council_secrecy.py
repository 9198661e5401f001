"""Issue 14, finding 1 (and the names of finding 2): sheets are committed to with a salted HMAC, and while the
council runs the applicant sees neither its events nor who sits on it. On SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import itertools
import json
from pathlib import Path
from typing import Any

import pytest
from conftest import _make_app, login
from sqlalchemy import select

from app.api.tokens import issue_token
from app.council import services as council
from app.models import ScoreSheet, User
from tests.stages.conftest import GOOD


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def app(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    application = _make_app(request.getfixturevalue(f"{request.param}_url"), tmp_path)
    yield application
    application.extensions["db_engine"].dispose()


def _as(app: Any, username: str) -> Any:
    client = app.test_client()
    assert login(client, username).status_code == 302
    return client


def _unsalted(points: dict[str, int]) -> str:
    """The old commitment: SHA-256 of the sheet's canonical JSON, which an applicant could brute-force."""
    body = json.dumps({"comment": "", "not_eligible": False, "points": points}, sort_keys=True,
                      separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(body.encode()).hexdigest()


def _api(app: Any, db: Any, user: Any, path: str) -> Any:
    token = issue_token(db, db.get(User, user.id), "test")
    db.commit()
    answer = app.test_client().get(f"/api/v1{path}", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200, answer.get_data(as_text=True)[:500]
    return answer.get_json()


def _history(app: Any, db: Any, user: Any, pid: int) -> list[dict[str, Any]]:
    return _api(app, db, user, f"/proposals/{pid}/history")["items"]


def test_the_applicant_sees_no_sheet_and_no_member_while_the_council_runs(app, db, people, walk, make_proposal):
    proposal = walk.to_appraisal(make_proposal(people.applicant))
    walk.assign(proposal, people.members[:5])
    for m in people.members[:2]:
        walk.score(proposal, m)
    actions = {e["action"] for e in _history(app, db, people.applicant, proposal.id)}
    assert actions.isdisjoint(council.COUNCIL_ACTIONS), actions
    page = _as(app, people.applicant.username).get(f"/proposals/{proposal.id}").get_data(as_text=True)
    stages = _api(app, db, people.applicant, f"/proposals/{proposal.id}/stages")
    for m in people.members[:5]:
        assert m.full_name not in page
    assert [(x["user_id"], x["name"]) for x in stages["council"]["members"]] == [(None, None)] * 5
    # A member sees their own events, not the other members' sheets; the officer sees all.
    mine = [e for e in _history(app, db, people.members[0], proposal.id) if e["action"] in council.COUNCIL_ACTIONS]
    assert [e["action"] for e in mine] == ["submit_score_sheet"]
    sheets = [e for e in _history(app, db, people.officer, proposal.id) if e["action"] == "submit_score_sheet"]
    assert len(sheets) == 2


def test_sheet_commitments_cannot_be_brute_forced_from_the_history(app, db, people, walk, make_proposal):
    proposal = walk.to_shortlist(make_proposal(people.applicant))  # the council has concluded
    history = _history(app, db, people.applicant, proposal.id)
    commitments = [e["inputs"]["sheet_hmac"] for e in history if e["action"] == "submit_score_sheet"]
    assert len(commitments) == 5 and len(set(commitments)) == 5  # the same points, five different commitments
    text = json.dumps(history)
    # The attack that worked: enumerate point vectors near the true one, hash each, compare. The true sheet
    # itself no longer hashes to anything shown, so no enumeration can succeed.
    keys = sorted(GOOD)
    for deltas in itertools.product((-1, 0, 1), repeat=3):
        guess = {**GOOD, **{k: GOOD[k] + d for k, d in zip(keys[:3], deltas, strict=True)}}
        assert _unsalted(guess) not in text
    sheets = list(db.scalars(select(ScoreSheet).where(ScoreSheet.proposal_id == proposal.id)))
    assert all(s.salt and s.salt not in text for s in sheets)
    # ...and each commitment still binds its kept sheet: recomputed with the sheet's own salt, it matches.
    recomputed = {council.sheet_commitment({"points": s.points, "comment": s.comment,
                                            "not_eligible": s.not_eligible}, s.salt) for s in sheets}
    assert recomputed == set(commitments)
    # After the council the applicant may read the council's events, names included.
    assert {"assign_council_member", "submit_score_sheet"} <= {e["action"] for e in history}
