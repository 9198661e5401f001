"""Contention on PostgreSQL: every waiter for a row lock re-reads the row and decides on what it finds."""

from __future__ import annotations

import threading

import pytest
from persistence.world import DISTRICT, applicant, officer
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.models import Proposal
from workflow import operations
from workflow.audit import AuditEvent, verify_chain
from workflow.errors import Conflict, Refused

pytestmark = [pytest.mark.faults, pytest.mark.postgres]
THREADS = 20


def test_parallel_forwards_without_versions_are_decided_on_the_locked_row(pg_engine, make_pg_proposal):
    p = make_pg_proposal()
    with Session(pg_engine) as s:
        operations.fire(s, s.get(Proposal, p.id), "submit", applicant(p.organisation_id))
        s.commit()
    barrier = threading.Barrier(THREADS)
    outcomes: list[str] = []
    guard = threading.Lock()
    reviewer = officer("district_officer", DISTRICT)

    def worker() -> None:
        with Session(pg_engine) as s:
            proposal = s.get(Proposal, p.id)  # everyone loads version 2 in its transaction, then all fire
            barrier.wait(timeout=10)
            try:
                operations.fire(s, proposal, "forward", reviewer, {"comment": "Đạt"})
                s.commit()
                result = "ok"
            except Refused as exc:
                s.rollback()
                result = f"refused {exc.explanation.reasons[0].code}"
            except Conflict as exc:
                s.rollback()
                result = f"conflict {exc.current_state} {exc.current_version}"
        with guard:
            outcomes.append(result)

    threads = [threading.Thread(target=worker) for _ in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert sorted(outcomes) == ["ok"] + ["refused state"] * (THREADS - 1)
    with Session(pg_engine) as s:
        counts = dict(s.execute(select(AuditEvent.outcome, func.count()).where(AuditEvent.action == "forward")
                                .group_by(AuditEvent.outcome)).all())
        assert counts == {"applied": 1, "refused": THREADS - 1}
        refused_from = set(s.scalars(select(AuditEvent.from_state).where(AuditEvent.outcome == "refused")))
        assert refused_from == {"provincial_appraisal"}  # recorded as the state the waiter actually found
    assert verify_chain(pg_engine).ok


def test_a_stale_expected_version_names_the_current_state_and_version(pg_engine, make_pg_proposal):
    p = make_pg_proposal()
    with Session(pg_engine) as s:
        stale = s.get(Proposal, p.id)  # loaded at version 1 in this (still open) transaction
        with Session(pg_engine) as other:
            operations.fire(other, other.get(Proposal, p.id), "submit", applicant(p.organisation_id))
            other.commit()
        with pytest.raises(Conflict) as caught:
            operations.fire(s, stale, "withdraw", applicant(p.organisation_id), expected_version=1)
        assert (caught.value.current_state, caught.value.current_version) == ("district_review", 2)
