"""v1 -> v2 (district review -> commune review) on a database holding proposals in every v1 state."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.models import Organisation, Proposal, RoleGrant, Unit, User
from app.units_data import seed_units
from persistence.world import COMMUNE, PROVINCE, new_proposal, officer, seed_places
from workflow import operations
from workflow.audit import AuditEvent, events_for, verify_chain
from workflow.migrate import cli_migrate, migrate
from workflow.registry import default_registry

V1 = default_registry().get("khuyen-cong-local", 1)
V2 = default_registry().get("khuyen-cong-local", 2)
LIVE = sorted(set(V1.states) - V1.finals)


def staff(session: Session, org_id: int, commune: str = COMMUNE) -> None:
    """Active users for every v2 role: whom the migration counts as able to act."""
    grants = [("commune_officer", commune), ("centre_officer", PROVINCE), ("council_member", PROVINCE),
              ("director", PROVINCE)]
    for role, unit in grants:
        session.add(User(username=f"{role}-{unit}", password_hash="x", grants=[RoleGrant(role=role, unit_code=unit)]))
    session.add(User(username="coso", password_hash="x", organisation_id=org_id,
                     grants=[RoleGrant(role="applicant", unit_code=None)]))


@pytest.fixture
def fleet(engine):
    """One proposal in each v1 state, plus two that cannot move: no commune, and a stale pin."""
    with Session(engine) as s:
        org = seed_places(s)
        staff(s, org.id)
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
    assert {m.subject for m in moved} == {f"proposal:{ids[state]}" for state in LIVE}  # closed ones stay on v1
    assert {m.subject: m.to_state for m in moved}[f"proposal:{ids['district_review']}"] == "local_review"
    reasons = {m.subject: m.stranded for m in stranded}
    assert "commune" in reasons[f"proposal:{no_commune}"]
    assert "sha256" in reasons[f"proposal:{stale}"]
    assert cli_migrate(database_url, "khuyen-cong-local:2", dry_run=True) == 1
    out = capsys.readouterr().out
    assert (f"move proposal:{ids['district_review']}: district_review -> local_review; can act: "
            f"commune_officer-{COMMUNE}") in out
    assert f"strand proposal:{no_commune} in district_review: nobody could forward" in out
    assert f"would move {len(LIVE)}, stranded 2" in out
    with Session(engine) as s:
        assert s.scalar(select(func.count()).select_from(Proposal).where(Proposal.wf_workflow_version == 2)) == 0
        assert s.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.outcome == "migrated")) == 0


def test_migration_moves_every_state_and_audits_each_move(engine, fleet, database_url, capsys):
    ids, no_commune, stale = fleet
    assert cli_migrate(database_url, "khuyen-cong-local:2") == 1  # refused: some would be stranded
    assert "moved 0, stranded 2" in capsys.readouterr().out
    assert cli_migrate(database_url, "khuyen-cong-local:2", allow_stranded=True) == 1
    assert f"moved {len(LIVE)}, stranded 2" in capsys.readouterr().out
    with Session(engine) as s:
        for state in V1.finals:
            assert s.get(Proposal, ids[state]).wf_workflow_version == 1  # finished on v1, stays pinned to it
        for state, pid in ids.items():
            if state in V1.finals:
                continue
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
    assert migrate(engine, V2, allow_stranded=True) == ([], migrate(engine, V2, dry_run=True)[1])  # nothing left
    assert verify_chain(engine).ok


def test_a_proposal_nobody_can_act_on_makes_migrate_refuse(engine):
    """Under local review in a commune no active officer covers: only its applicant could (withdraw)."""
    with Session(engine) as s:
        org = seed_places(s)
        staff(s, org.id, commune="05999")
        s.add(Unit(code="05999", name="Xã Thử", level="commune", parent_code="171", district_code="171"))
        orphan = new_proposal(s, org)
        orphan.wf_state = "district_review"
        s.commit()
        orphan_id = orphan.id
    moved, stranded = migrate(engine, V2)
    assert moved == [] and [m.subject for m in stranded] == [f"proposal:{orphan_id}"]
    assert "no active user could act" in (stranded[0].stranded or "") and stranded[0].who == ()
    with Session(engine) as s:
        assert s.get(Proposal, orphan_id).wf_workflow_version == 1


def test_an_abolished_commune_is_rehomed_through_its_successor_and_audited(engine):
    with Session(engine) as s:
        seed_units(s)  # the shipped units and successors: xã Thịnh Đức (05497) -> xã Tân Cương (05503)
        org = Organisation(name="Hợp tác xã chè Thịnh Đức", kind="cooperative", tax_code="4600000002",
                           commune_code="05497")
        s.add(org)
        s.flush()
        staff(s, org.id, commune="05503")
        p = new_proposal(s, org, commune_code="05497", district_code="164")
        p.wf_state = "district_review"
        s.commit()
        pid = p.id
    moved, stranded = migrate(engine, V2)
    assert stranded == [] and [m.changes for m in moved] == [{"commune_code": ("05497", "05503")}]
    with Session(engine) as s:
        assert s.get(Proposal, pid).commune_code == "05503"
        assert events_for(s, "proposal", pid)[-1].diff["commune_code"] == ["05497", "05503"]
