"""create / fire / edit / act: the audited write path on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.models import Proposal
from persistence.world import DISTRICT, applicant, officer
from workflow import operations
from workflow.audit import AuditEvent, events_for
from workflow.errors import Conflict, InvalidInput, Refused
from workflow.explain import Explanation


def test_fire_moves_bumps_and_audits(engine, make_proposal):
    p = make_proposal()
    with Session(engine) as s:
        proposal = s.get(Proposal, p.id)
        event = operations.fire(s, proposal, "submit", applicant(p.organisation_id), {}, expected_version=1,
                                request_id="req-1")
        s.commit()
        assert event.outcome == "applied" and event.seq == 2
        assert (proposal.wf_state, proposal.wf_version) == ("district_review", 2)
        assert proposal.wf_fired_by == {"submit": ["app1"], "submit@draft": ["app1"]}
    with Session(engine) as s:
        events = events_for(s, "proposal", p.id)
        assert [(e.seq, e.action, e.outcome, e.from_state, e.to_state) for e in events] == [
            (1, "create", "created", None, "draft"), (2, "submit", "applied", "draft", "district_review")]
        assert events[1].prev_hash == events[0].hash
        assert (events[1].actor_id, events[1].actor_role, events[1].request_id) == ("app1", "applicant", "req-1")
        assert events[1].workflow_sha256 == p.wf_sha256 and events[1].workflow_version == 1


def test_fire_cleans_required_inputs(engine, make_proposal):
    p = make_proposal()
    with Session(engine) as s:
        proposal = s.get(Proposal, p.id)
        operations.fire(s, proposal, "submit", applicant(p.organisation_id))
        s.commit()
        with pytest.raises(InvalidInput) as err:
            operations.fire(s, proposal, "forward", officer("district_officer", DISTRICT), {"comment": "  "})
        assert "comment" in err.value.errors
        s.rollback()
        event = operations.fire(s, proposal, "forward", officer("district_officer", DISTRICT),
                                {"comment": " Đạt yêu cầu ", "junk": 1})
        s.commit()
        assert event.inputs == {"comment": "Đạt yêu cầu"} and event.comment == "Đạt yêu cầu"
        assert (event.actor_role, event.actor_unit) == ("district_officer", DISTRICT)


def test_refusal_is_recorded_in_its_own_transaction(engine, make_proposal):
    p = make_proposal()
    with Session(engine) as s:
        proposal = s.get(Proposal, p.id)
        with pytest.raises(Refused) as err:
            operations.fire(s, proposal, "forward", officer("district_officer", DISTRICT), {"comment": "x"})
        assert err.value.kind == "state"
        s.rollback()  # the caller's work is gone; the refusal is not
    with Session(engine) as s:
        events = events_for(s, "proposal", p.id)
        refused = events[-1]
        assert (refused.outcome, refused.action, refused.actor_id) == ("refused", "forward",
                                                                       f"district_officer-{DISTRICT}")
        assert refused.reasons[0]["code"] == "state" and refused.inputs == {"comment": "x"}
        assert s.get(Proposal, p.id).wf_version == 1


def test_stale_expected_version_conflicts_without_audit_row(engine, make_proposal):
    p = make_proposal()
    with Session(engine) as s:
        proposal = s.get(Proposal, p.id)
        operations.fire(s, proposal, "submit", applicant(p.organisation_id), expected_version=1)
        s.commit()
    with Session(engine) as s:
        proposal = s.get(Proposal, p.id)
        with pytest.raises(Conflict) as err:
            operations.fire(s, proposal, "withdraw", applicant(p.organisation_id), {"reason": "r"},
                            expected_version=1)
        assert (err.value.current_version, err.value.current_state) == (2, "district_review")
        s.rollback()
        assert s.scalar(select(func.count()).select_from(AuditEvent)) == 2


def test_failure_after_state_change_leaves_nothing(engine, make_proposal):
    p = make_proposal()
    with Session(engine) as s:
        proposal = s.get(Proposal, p.id)
        operations.fire(s, proposal, "submit", applicant(p.organisation_id))
        assert s.scalar(select(func.count()).select_from(AuditEvent)) == 2  # flushed, not committed
        try:
            raise RuntimeError("the request failed before commit")
        except RuntimeError:
            s.rollback()
    with Session(engine) as s:
        assert s.get(Proposal, p.id).wf_state == "draft"
        assert s.get(Proposal, p.id).wf_version == 1
        assert s.scalar(select(func.count()).select_from(AuditEvent)) == 1


def test_fire_leaves_the_instance_as_the_database_has_it(engine, make_proposal):
    """The engine writes its own columns with one UPDATE; the ORM must neither lose nor repeat them."""
    p = make_proposal()
    with Session(engine, expire_on_commit=False) as s:
        proposal = s.get(Proposal, p.id)
        entered = proposal.wf_entered_at
        operations.fire(s, proposal, "submit", applicant(p.organisation_id))
        assert proposal not in s.dirty  # nothing left for a later flush to write again
        s.commit()
        in_memory = (proposal.wf_state, proposal.wf_version, proposal.wf_fired_by)
        operations.fire(s, proposal, "forward", officer("district_officer", DISTRICT), {"comment": "Đạt"})
        s.rollback()  # the rolled-back move must not linger on the instance
        assert (proposal.wf_state, proposal.wf_version, proposal.wf_fired_by) == in_memory
    with Session(engine) as s:
        stored = s.get(Proposal, p.id)
        assert (stored.wf_state, stored.wf_version, stored.wf_fired_by) == in_memory == (
            "district_review", 2, {"submit": ["app1"], "submit@draft": ["app1"]})
        assert stored.wf_entered_at.replace(tzinfo=None) > entered.replace(tzinfo=None)


def test_edit_records_field_diff(engine, make_proposal):
    p = make_proposal()
    with Session(engine) as s:
        proposal = s.get(Proposal, p.id)
        event = operations.edit(s, proposal, applicant(p.organisation_id),
                                {"title": "Máy sao chè mới", "total_cost": 500_000_000, "year": 2024},
                                expected_version=1)
        s.commit()
        assert event.diff == {"title": [p.title, "Máy sao chè mới"], "total_cost": [0, 500_000_000]}
        assert (event.action, event.from_state, event.to_state) == ("edit", "draft", "draft")
        assert proposal.wf_version == 2
        with pytest.raises(InvalidInput) as err:
            operations.edit(s, proposal, applicant(p.organisation_id), {"title": "Máy sao chè mới"})
        assert "changes" in err.value.errors
        with pytest.raises(InvalidInput) as err:
            operations.edit(s, proposal, applicant(p.organisation_id), {"wf_state": "funded", "code": "X"},
                            allowed_fields=["title"])
        assert set(err.value.errors) == {"wf_state", "code"}
        s.rollback()
        with pytest.raises(Refused):
            operations.edit(s, proposal, officer("district_officer", DISTRICT), {"title": "x"})
        s.rollback()
    with Session(engine) as s:
        assert [e.outcome for e in events_for(s, "proposal", p.id)] == ["created", "applied", "refused"]


def test_act_runs_check_then_apply(engine, make_proposal):
    p = make_proposal()
    calls = []
    with Session(engine) as s:
        proposal = s.get(Proposal, p.id)
        event = operations.act(s, proposal, officer("centre_officer", "19"), "assign_council",
                               check=lambda: Explanation("assign_council", proposal.wf_state, True),
                               apply=lambda: calls.append(1) or {"members": ["u1", "u2"]},
                               inputs={"comment": "Hội đồng 5 người"})
        s.commit()
        assert calls == [1] and proposal.wf_version == 2
        assert (event.from_state, event.to_state, event.diff, event.comment) == (
            "draft", "draft", {"members": ["u1", "u2"]}, "Hội đồng 5 người")
        with pytest.raises(Refused):
            operations.act(s, proposal, officer("centre_officer", "19"), "assign_council",
                           check=lambda: Explanation("assign_council", "draft", False), apply=lambda: calls.append(2))
        s.rollback()
        assert calls == [1]
    with Session(engine) as s:
        assert [e.outcome for e in events_for(s, "proposal", p.id)] == ["created", "applied", "refused"]


@pytest.mark.parametrize("where", ["apply", "audit"])
def test_failure_inside_the_operation_leaves_nothing(engine, make_proposal, monkeypatch, where):
    p = make_proposal()
    with Session(engine) as s:
        proposal = s.get(Proposal, p.id)
        if where == "audit":  # the state has moved in memory and in the session when the audit append fails
            def broken(_session, _values, _conn=None):
                assert proposal.wf_state == "district_review"
                raise RuntimeError("disk full")

            monkeypatch.setattr(operations.audit, "insert_event", broken)
            call = lambda: operations.fire(s, proposal, "submit", applicant(p.organisation_id))  # noqa: E731
        else:
            def apply():
                proposal.title = "changed before the failure"
                raise RuntimeError("the council service is down")

            call = lambda: operations.act(s, proposal, applicant(p.organisation_id), "attach",  # noqa: E731
                                          check=lambda: Explanation("attach", "draft", True), apply=apply)
        with pytest.raises(RuntimeError):
            call()
        s.rollback()
    with Session(engine) as s:
        fresh = s.get(Proposal, p.id)
        assert (fresh.wf_state, fresh.wf_version, fresh.title) == ("draft", 1, p.title)
        assert [e.outcome for e in events_for(s, "proposal", p.id)] == ["created"]
