"""Reviewers clicking at the same moment: exactly one decision, the others get a conflict and no audit row."""

from __future__ import annotations

import threading

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.models import Proposal
from persistence.world import DISTRICT, applicant, officer
from workflow import operations
from workflow.audit import AuditEvent, verify_chain
from workflow.errors import Conflict

THREADS = 20


def race(engine, proposal_id, trigger, actor, inputs):
    """THREADS sessions load the proposal at version 2, wait at a barrier, then fire at once."""
    barrier = threading.Barrier(THREADS)
    outcomes: list[str] = []
    lock = threading.Lock()

    def worker() -> None:
        with Session(engine) as s:
            proposal = s.scalars(select(Proposal).where(Proposal.id == proposal_id)).one()
            version = proposal.wf_version
            s.rollback()  # no transaction held while waiting (SQLite would hold the write lock)
            barrier.wait()
            try:
                operations.fire(s, proposal, trigger, actor, inputs, expected_version=version)
                s.commit()
                result = "ok"
            except Conflict:
                s.rollback()
                result = "conflict"
            except Exception as exc:  # anything else fails the test below, with its name
                s.rollback()
                result = f"error {type(exc).__name__}: {exc}"
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=worker) for _ in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return outcomes


def test_twenty_threads_fire_the_same_transition(engine, make_proposal):
    p = make_proposal()
    with Session(engine) as s:
        operations.fire(s, s.get(Proposal, p.id), "submit", applicant(p.organisation_id))
        s.commit()
    outcomes = race(engine, p.id, "forward", officer("district_officer", DISTRICT), {"comment": "Đạt"})
    assert sorted(outcomes) == ["conflict"] * (THREADS - 1) + ["ok"]
    with Session(engine) as s:
        applied = s.scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.action == "forward", AuditEvent.outcome == "applied"))
        proposal = s.get(Proposal, p.id)
        assert applied == 1
        assert (proposal.wf_state, proposal.wf_version) == ("provincial_appraisal", 3)
    assert verify_chain(engine).ok
