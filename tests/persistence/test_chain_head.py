"""The chain head kept on the subject row (0017): every path that appends to a subject's chain keeps it, a
transition on a locked row writes exactly two statements, and a head that disagrees with the chain is found
by the consistency check and by ``audit verify``. SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import event, text, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from app.models import Organisation, Proposal
from app.schema import alembic_config
from persistence.world import DISTRICT, applicant, new_proposal, officer
from workflow import audit, consistency, operations, seal
from workflow.audit import events_for
from workflow.chaincheck import GENESIS
from workflow.errors import Refused
from workflow.explain import Explanation

FORWARD = {"comment": "Đạt yêu cầu"}


def _submitted(engine: Engine, org: Organisation) -> int:
    """A proposal in district_review, committed."""
    with Session(engine, expire_on_commit=False) as session:
        proposal = new_proposal(session, org)
        operations.fire(session, proposal, "submit", applicant(org.id))
        session.commit()
        return proposal.id


def _row_head(engine: Engine, proposal_id: int) -> tuple[int, str]:
    with engine.connect() as conn:
        row = conn.execute(text("SELECT wf_chain_seq, wf_chain_hash FROM proposal WHERE id = :i"),
                           {"i": proposal_id}).one()
    return int(row[0]), row[1]


def _chain_head(engine: Engine, proposal_id: int) -> tuple[int, str]:
    with Session(engine) as session:
        last = events_for(session, "proposal", proposal_id)[-1]
        return last.seq, last.hash


def _load_locked(session: Session, proposal_id: int) -> Proposal:
    proposal = session.get(Proposal, proposal_id, with_for_update={"of": Proposal})
    assert proposal is not None
    return proposal


def test_create_and_fire_keep_the_head(engine: Engine, org: Organisation) -> None:
    with Session(engine, expire_on_commit=False) as session:
        proposal = new_proposal(session, org)
        session.commit()
    assert _row_head(engine, proposal.id) == _chain_head(engine, proposal.id)
    assert _row_head(engine, proposal.id)[0] == 1
    with Session(engine, expire_on_commit=False) as session:
        moved = _load_locked(session, proposal.id)
        fired = operations.fire(session, moved, "submit", applicant(org.id))
        session.commit()
    assert _row_head(engine, proposal.id) == (2, fired.hash) == _chain_head(engine, proposal.id)
    with Session(engine) as session:  # what the driver-level UPDATE stored reads back as the instance held it
        stored = session.get(Proposal, proposal.id)
        assert stored is not None
        assert (stored.wf_state, stored.wf_version, stored.wf_fired_by) == (
            "district_review", 2, {"submit": ["app1"], "submit@draft": ["app1"]}) == (
            moved.wf_state, moved.wf_version, moved.wf_fired_by)
        assert stored.wf_entered_at.replace(tzinfo=dt.UTC) == moved.wf_entered_at.replace(tzinfo=dt.UTC)


def test_fire_on_a_locked_row_writes_one_update_and_one_insert(engine: Engine, org: Organisation,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    proposal_id = _submitted(engine, org)
    # The engine's own writes: an application's hooks (its outbox, registered by create_app) add their own.
    monkeypatch.setattr(operations, "_APPLIED_LISTENERS", [])
    statements: list[str] = []

    def seen(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement.split()[0].upper())

    with Session(engine, expire_on_commit=False) as session:
        proposal = _load_locked(session, proposal_id)
        event.listen(engine, "before_cursor_execute", seen)
        try:
            operations.fire(session, proposal, "forward", officer("district_officer", DISTRICT), FORWARD)
        finally:
            event.remove(engine, "before_cursor_execute", seen)
        session.commit()
    # No chain-head SELECT on audit_event, no lock re-read: the head comes from the row just loaded.
    assert statements == ["UPDATE", "INSERT"]
    assert _row_head(engine, proposal_id) == _chain_head(engine, proposal_id)


def test_edit_and_act_keep_the_head(engine: Engine, org: Organisation) -> None:
    with Session(engine, expire_on_commit=False) as session:
        proposal = new_proposal(session, org)
        session.commit()
        operations.edit(session, proposal, applicant(org.id), {"title": "Máy sấy chè"})
        session.commit()
        assert _row_head(engine, proposal.id) == _chain_head(engine, proposal.id) == (2, proposal.wf_chain_hash)
        operations.act(session, proposal, applicant(org.id), "attach",
                       check=lambda: Explanation("attach", "draft", True), apply=lambda: {"kind": "extra"})
        session.commit()
    assert _row_head(engine, proposal.id) == _chain_head(engine, proposal.id)
    assert _row_head(engine, proposal.id)[0] == 3


def test_a_refusal_moves_the_head_and_the_next_fire_links_to_it(engine: Engine, org: Organisation) -> None:
    proposal_id = _submitted(engine, org)
    with Session(engine, expire_on_commit=False) as session:
        proposal = _load_locked(session, proposal_id)
        with pytest.raises(Refused):
            operations.fire(session, proposal, "forward", applicant(org.id), FORWARD)
        session.rollback()  # the refusal is recorded once the caller's transaction ends
        refused = events_for(session, "proposal", proposal_id)[-1]
        outcome, head = refused.outcome, (refused.seq, refused.hash)
        session.rollback()  # (a rollback expires every instance: read before it)
        assert outcome == "refused"
        assert _row_head(engine, proposal_id) == head
        # The same instance, kept across transactions, still names the head before the refusal: the lock's
        # read brings the head, so the next event links to the refusal.
        fired = operations.fire(session, proposal, "forward", officer("district_officer", DISTRICT), FORWARD)
        session.commit()
    assert (fired.seq, fired.prev_hash) == (head[0] + 1, head[1])
    assert _row_head(engine, proposal_id) == (fired.seq, fired.hash)


def test_direct_appends_and_imports_keep_the_head(engine: Engine, org: Organisation) -> None:
    proposal_id = _submitted(engine, org)
    with Session(engine, expire_on_commit=False) as session:
        proposal = _load_locked(session, proposal_id)
        appended = audit.append(session, subject_type="proposal", subject_id=str(proposal_id), action="note",
                                outcome="applied", from_state=proposal.wf_state, to_state=proposal.wf_state)
        assert (proposal.wf_chain_seq, proposal.wf_chain_hash) == (appended.seq, appended.hash)  # in session too
        session.commit()
    assert _row_head(engine, proposal_id) == (appended.seq, appended.hash)
    with Session(engine, expire_on_commit=False) as session:
        proposal = _load_locked(session, proposal_id)
        imported = operations.import_event(session, proposal, officer("district_officer", DISTRICT), "forward",
                                           effective_at=dt.datetime.now(dt.UTC))
        session.commit()
    assert imported.prev_hash == appended.hash
    assert _row_head(engine, proposal_id) == (imported.seq, imported.hash) == _chain_head(engine, proposal_id)


def test_a_head_that_disagrees_with_its_chain_is_found(engine: Engine, org: Organisation) -> None:
    kept, tampered = _submitted(engine, org), _submitted(engine, org)
    with engine.connect() as conn:
        assert consistency.check(conn) == []
    assert seal.verify(engine).ok
    with engine.begin() as conn:  # a head pointing back at the first event: the next event would fork the chain
        first = events_for(Session(bind=conn), "proposal", tampered)[0]
        conn.execute(update(Proposal.__table__).where(Proposal.__table__.c.id == tampered)
                     .values(wf_chain_seq=first.seq, wf_chain_hash=first.hash))
    with engine.connect() as conn:
        problems = consistency.check(conn)
    assert [(b.subject, b.kind) for b in problems] == [(f"proposal:{tampered}", "data")]
    assert "as the head of its trail" in problems[0].detail
    result = seal.verify(engine)
    assert not result.ok
    assert [b.subject for b in result.problems] == [f"proposal:{tampered}"]
    assert _row_head(engine, kept) == _chain_head(engine, kept)


def test_the_migration_backfills_the_head_from_the_trail(engine: Engine, org: Organisation,
                                                         database_url: str) -> None:
    proposal_id = _submitted(engine, org)
    with Session(engine, expire_on_commit=False) as session:
        fresh = new_proposal(session, org)
        session.commit()
    expected = {pid: _chain_head(engine, pid) for pid in (proposal_id, fresh.id)}
    migration: Any = ScriptDirectory.from_config(alembic_config(database_url)).get_revision("0017_chain_head")
    with engine.begin() as conn:  # the rows as 0017 finds them: the columns at their defaults
        conn.execute(update(Proposal.__table__).values(wf_chain_seq=0, wf_chain_hash=GENESIS))
        conn.exec_driver_sql(migration.module._backfill("proposal", conn.dialect.name))
    assert {pid: _row_head(engine, pid) for pid in expected} == expected
    with engine.connect() as conn:
        assert consistency.check(conn) == []
