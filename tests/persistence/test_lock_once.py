"""``fire`` re-reads no row it already holds locked: a subject loaded in the same transaction under its row lock
(``FOR UPDATE``, or any load on SQLite's writing connection, which holds the database's write lock) is current.
Anything else is still locked and checked: a load without the lock, a load in an earlier transaction, a stale
instance, a load inside a savepoint."""

from __future__ import annotations

import pytest
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from app.models import Proposal
from persistence.world import DISTRICT, applicant, officer
from workflow import operations
from workflow.errors import Conflict

FOR_UPDATE = {"of": Proposal}


def _locks(engine):
    """The lock statements ``fire`` runs (SELECT wf_version ... by primary key)."""
    seen: list[str] = []

    def note(_conn, _cursor, statement, *_args):
        if statement.lstrip().startswith("SELECT proposal.wf_version"):
            seen.append(statement)
    event.listen(engine, "before_cursor_execute", note)
    return seen, lambda: event.remove(engine, "before_cursor_execute", note)


def _submitted(engine, make_proposal):
    proposal = make_proposal()
    with Session(engine, expire_on_commit=False) as s:
        p = s.get(Proposal, proposal.id)
        operations.fire(s, p, "submit", applicant(p.organisation_id))
        s.commit()
    return proposal.id


def test_a_subject_loaded_locked_in_this_transaction_is_not_locked_again(engine, make_proposal):
    pid = _submitted(engine, make_proposal)
    seen, stop = _locks(engine)
    try:
        with Session(engine, expire_on_commit=False) as s:
            p = s.get(Proposal, pid, with_for_update=FOR_UPDATE)
            operations.fire(s, p, "forward", officer("district_officer", DISTRICT), {"comment": "Đạt"},
                            expected_version=2)
            s.commit()
    finally:
        stop()
    assert seen == []
    with Session(engine) as s:
        assert s.get(Proposal, pid).wf_version == 3


def test_a_load_without_the_lock_is_locked_on_postgresql(engine, make_proposal):
    pid = _submitted(engine, make_proposal)
    seen, stop = _locks(engine)
    try:
        with Session(engine, expire_on_commit=False) as s:
            p = s.scalars(select(Proposal).where(Proposal.id == pid)).one()
            operations.fire(s, p, "forward", officer("district_officer", DISTRICT), {"comment": "Đạt"})
            s.commit()
    finally:
        stop()
    # SQLite: the load itself ran under BEGIN IMMEDIATE (the database's write lock); PostgreSQL: it did not.
    assert len(seen) == (0 if engine.dialect.name == "sqlite" else 1)


def test_an_instance_from_an_earlier_transaction_is_locked_and_found_stale(engine, make_proposal):
    pid = _submitted(engine, make_proposal)
    with Session(engine, expire_on_commit=False) as old:
        stale = old.get(Proposal, pid, with_for_update=FOR_UPDATE)
        old.commit()
        with Session(engine, expire_on_commit=False) as other:  # someone else moves it meanwhile
            operations.fire(other, other.get(Proposal, pid), "forward", officer("district_officer", DISTRICT),
                            {"comment": "Đạt"})
            other.commit()
        seen, stop = _locks(engine)
        try:
            with pytest.raises(Conflict):
                operations.fire(old, stale, "forward", officer("district_officer", DISTRICT), {"comment": "Đạt"},
                                expected_version=2)
        finally:
            stop()
            old.rollback()
    assert len(seen) == 1  # locked again, read the newer version, refused the stale expectation


def test_a_load_inside_a_savepoint_is_locked_again(engine, make_proposal):
    """A savepoint's rollback may release its locks (PostgreSQL), so a load within one is not trusted."""
    pid = _submitted(engine, make_proposal)
    seen, stop = _locks(engine)
    try:
        with Session(engine, expire_on_commit=False) as s:
            with s.begin_nested():
                p = s.get(Proposal, pid, with_for_update=FOR_UPDATE)
            operations.fire(s, p, "forward", officer("district_officer", DISTRICT), {"comment": "Đạt"})
            s.commit()
    finally:
        stop()
    assert len(seen) == 1
