"""Random operations by random actors: the state stays valid, every success has exactly one "applied" event,
every refusal one "refused" event, and the trail verifies after every step."""

from __future__ import annotations

import datetime as dt

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.models import Proposal
from persistence.world import DISTRICT, PROVINCE, applicant, new_proposal, officer, seed_places
from workflow import operations
from workflow.audit import AuditEvent, verify_chain
from workflow.errors import Conflict, InvalidInput, Refused
from workflow.registry import default_registry

V1 = default_registry().get("khuyen-cong-local", 1)
FULL_INPUTS = {
    "comment": "Ý kiến", "reason": "Lý do", "approved_amount": "150.000.000", "decision_number": "12/QĐ-UBND",
    "decision_date": "15/03/2025", "contract_number": "07/HĐ-KC", "contract_date": dt.date(2025, 4, 1),
    "disbursed_total": 150_000_000, "refund_amount": 0, "evaluation_score": 80,
}
steps = st.lists(st.tuples(
    st.sampled_from(["fire", "fire", "fire", "edit"]),
    st.integers(0, 1),                       # which proposal
    st.one_of(st.none(), st.integers(0, 6)),  # which actor; None: one holding a role the trigger needs
    st.integers(0, 20),                      # which trigger: one possible in the current state, or any
    st.booleans(),                           # give the inputs, or none
    st.booleans(),                           # pass a stale expected_version
), min_size=1, max_size=10)


def actors(org_id: int) -> list:
    return [applicant(org_id), applicant(org_id + 1000, "stranger"), officer("district_officer", DISTRICT),
            officer("district_officer", "173"), officer("centre_officer", PROVINCE), officer("director", PROVINCE),
            officer("auditor", PROVINCE)]


def pick_trigger(state: str, pick: int) -> str:
    here = sorted(V1.rules_from[state])
    return here[pick] if pick < len(here) else sorted(V1.triggers)[pick % len(V1.triggers)]


def fitting(people: list, trigger: str):
    roles = {role for rule in V1.rules if rule.trigger == trigger for role in rule.roles}
    return next((a for a in people if a.roles & roles), people[0])


def counts(s: Session, pid: int) -> dict[str, int]:
    rows = s.execute(select(AuditEvent.outcome, func.count()).where(
        AuditEvent.subject_type == "proposal", AuditEvent.subject_id == str(pid)).group_by(AuditEvent.outcome))
    return dict(rows.all())


def test_random_operations_keep_every_invariant(engine):
    with Session(engine) as s:
        org = seed_places(s)
        s.commit()
        people = actors(org.id)

    @settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(steps)
    def run(plan):
        with Session(engine) as s:
            proposals = [new_proposal(s, org) for _ in range(2)]
            s.commit()
            applied = {p.id: 0 for p in proposals}
            refused = {p.id: 0 for p in proposals}
            for op, which, who, pick, with_inputs, stale in plan:
                p = proposals[which]
                trigger = pick_trigger(p.wf_state, pick)
                actor = people[who] if who is not None else fitting(people, trigger)
                expected = p.wf_version - 1 if stale else p.wf_version
                try:
                    if op == "fire":
                        operations.fire(s, p, trigger, actor, FULL_INPUTS if with_inputs else None,
                                        expected_version=expected)
                    else:
                        operations.edit(s, p, actor, {"title": f"{p.title}+"}, expected_version=expected)
                    s.commit()
                    applied[p.id] += 1
                except Refused:
                    s.rollback()
                    refused[p.id] += 1
                except (Conflict, InvalidInput):
                    s.rollback()
                assert p.wf_state in V1.states
                assert p.wf_version == 1 + applied[p.id]
                found = counts(s, p.id)
                assert (found.get("applied", 0), found.get("refused", 0), found["created"]) == (
                    applied[p.id], refused[p.id], 1)
                assert verify_chain(engine).ok

    run()
    with Session(engine) as s:
        states = set(s.scalars(select(Proposal.wf_state)))
    assert states <= set(V1.states) and len(states) > 1  # the runs did move proposals
