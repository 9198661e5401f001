"""v1 -> v2 (district review -> commune review) on a database holding proposals in every v1 state."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.models import Proposal
from persistence.world import COMMUNE, new_proposal, officer, seed_places
from workflow import operations
from workflow.audit import AuditEvent, events_for, verify_chain
from workflow.migrate import cli_migrate, migrate
from workflow.registry import default_registry

V1 = default_registry().get("khuyen-cong-local", 1)
V2 = default_registry().get("khuyen-cong-local", 2)


@pytest.fixture
def fleet(engine):
    """One proposal in each v1 state, plus two that cannot move: no commune, and a stale pin."""
    with Session(engine) as s:
        org = seed_places(s)
        ids = {}
        for state in V1.states:
            p = new_proposal(s, org)
            p.wf_state = state  # set up directly: reaching every state by firing is the engine tests' job
            ids[state] = p.id
        no_commune = new_proposal(s, org, commune_code=None)
        no_commune.wf_state = "district_review"
        stale = new_proposal(s, org)
        stale.wf_sha256 = "e" * 64
        s.commit()
        return ids, no_commune.id, stale.id


def test_dry_run_lists_moves_and_strandings_and_changes_nothing(engine, fleet, database_url, capsys):
    ids, no_commune, stale = fleet
    moved, stranded = migrate(engine, V2, dry_run=True)
    assert {m.subject for m in moved} == {f"proposal:{i}" for i in ids.values()}
    assert {m.subject: m.to_state for m in moved}[f"proposal:{ids['district_review']}"] == "local_review"
    reasons = {m.subject: m.stranded for m in stranded}
    assert "commune" in reasons[f"proposal:{no_commune}"]
    assert "sha256" in reasons[f"proposal:{stale}"]
    assert cli_migrate(database_url, "khuyen-cong-local:2", dry_run=True) == 1
    out = capsys.readouterr().out
    assert f"move proposal:{ids['district_review']}: district_review -> local_review" in out
    assert f"strand proposal:{no_commune} in district_review: nobody could forward" in out
    assert f"would move {len(ids)}, stranded 2" in out
    with Session(engine) as s:
        assert s.scalar(select(func.count()).select_from(Proposal).where(Proposal.wf_workflow_version == 2)) == 0
        assert s.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.outcome == "migrated")) == 0


def test_migration_moves_every_state_and_audits_each_move(engine, fleet, database_url, capsys):
    ids, no_commune, stale = fleet
    assert cli_migrate(database_url, "khuyen-cong-local:2") == 1  # 1: some were stranded
    assert f"moved {len(ids)}, stranded 2" in capsys.readouterr().out
    with Session(engine) as s:
        for state, pid in ids.items():
            p = s.get(Proposal, pid)
            expected = "local_review" if state == "district_review" else state
            assert (p.wf_workflow_version, p.wf_sha256, p.wf_state, p.wf_version) == (2, V2.sha256, expected, 2)
            last = events_for(s, "proposal", pid)[-1]
            assert (last.outcome, last.from_state, last.to_state, last.workflow_version) == (
                "migrated", state, expected, 2)
            assert last.diff["workflow_version"] == [1, 2]
        for pid in (no_commune, stale):
            assert s.get(Proposal, pid).wf_workflow_version == 1
        # The moved proposal now runs under v2: a commune officer forwards it.
        p = s.get(Proposal, ids["district_review"])
        operations.fire(s, p, "forward", officer("commune_officer", COMMUNE), {"comment": "Đạt"})
        s.commit()
        assert p.wf_state == "provincial_appraisal"
    assert migrate(engine, V2) == ([], migrate(engine, V2, dry_run=True)[1])  # a second run moves nothing
    assert verify_chain(engine).ok
