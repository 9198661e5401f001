"""0019_repin: a database holding proposals pinned to the definition files as they were before their domain
actions were declared upgrades; every proposal carries the amended file's sha256, each amended version has one
audited ``repin`` event, the trail verifies and the proposals can be acted on. On SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.models import Proposal
from app.schema import alembic_config
from persistence.world import applicant, new_proposal, seed_places
from workflow import operations, seal
from workflow.audit import events_for
from workflow.errors import WorkflowError
from workflow.migrate import DEFINITION_SUBJECT
from workflow.registry import default_registry

REVISION = "0019_repin"


def _script(url: str) -> ScriptDirectory:
    return ScriptDirectory.from_config(alembic_config(url))


def _amended(url: str) -> dict[tuple[str, int], tuple[str, str]]:
    """(workflow, version) -> (sha256 before, after), as the revision declares them."""
    module: Any = _script(url).get_revision(REVISION).module
    return {(w, v): (old, new) for w, v, old, new in module.AMENDED}


@pytest.fixture
def before_repin(database_url: str, engine: Any) -> dict[int, tuple[str, int]]:
    """The database at the revision before 0019_repin, with local proposals on v1, v2 and v3 pinned to the
    files' old sha256 (as a database created before the amendment holds them). proposal id -> (workflow, version)."""
    command.downgrade(alembic_config(database_url), _script(database_url).get_revision(REVISION).down_revision)
    amended = _amended(database_url)
    pinned = {}
    with Session(engine) as s:
        org = seed_places(s)
        for version in (1, 2, 3, 3):
            p = new_proposal(s, org, version=version)
            pinned[p.id] = ("khuyen-cong-local", version)
        s.flush()
        for pid, key in pinned.items():
            s.execute(update(Proposal).where(Proposal.id == pid).values(wf_sha256=amended[key][0]))
        s.commit()
    return pinned


def _pins(engine: Any) -> dict[int, str]:
    with Session(engine) as s:
        return dict(s.execute(select(Proposal.id, Proposal.wf_sha256)).all())


def test_upgrade_repins_every_proposal_audited_and_verifiable(database_url, engine, before_repin):
    command.upgrade(alembic_config(database_url), "head")

    loaded = {c.key: c.sha256 for c in default_registry()}
    assert _pins(engine) == {pid: loaded[key] for pid, key in before_repin.items()}
    amended = _amended(database_url)
    with Session(engine) as s:
        for version, count in ((1, 1), (2, 1), (3, 2)):
            events = events_for(s, DEFINITION_SUBJECT, f"khuyen-cong-local:{version}")
            assert [(e.action, e.outcome) for e in events] == [("repin", "applied")]
            old, new = amended[("khuyen-cong-local", version)]
            assert events[0].diff["workflow_sha256"] == [old, new]
            assert events[0].diff["subjects"] == {"plan_round": 0, "proposal": count}  # one UPDATE per table
        assert not events_for(s, DEFINITION_SUBJECT, "khuyen-cong-national:1")  # nothing pinned to it: no event
    result = seal.verify(engine)
    assert not result.problems, result.problems

    pid = next(iter(before_repin))
    with Session(engine) as s:  # the engine acts on a re-pinned proposal (no DefinitionChanged)
        proposal = s.get_one(Proposal, pid)
        operations.fire(s, proposal, "withdraw", applicant(proposal.organisation_id), {"reason": "Thôi"})
        s.commit()
        assert proposal.wf_state == "withdrawn"


def test_downgrade_repins_back(database_url, engine, before_repin):
    old_pins = _pins(engine)
    command.upgrade(alembic_config(database_url), REVISION)
    command.downgrade(alembic_config(database_url), _script(database_url).get_revision(REVISION).down_revision)
    assert _pins(engine) == old_pins
    with Session(engine) as s:
        events = events_for(s, DEFINITION_SUBJECT, "khuyen-cong-local:3")
        assert [e.action for e in events] == ["repin", "repin"]
        assert events[1].diff["workflow_sha256"] == list(reversed(events[0].diff["workflow_sha256"]))
    assert not seal.verify(engine).problems


def test_an_unknown_pin_refuses_and_changes_nothing(database_url, engine, before_repin):
    stray = next(iter(before_repin))
    with Session(engine) as s:
        s.execute(update(Proposal).where(Proposal.id == stray).values(wf_sha256="e" * 64))
        s.commit()
    pins = _pins(engine)
    with pytest.raises(WorkflowError, match="neither"):
        command.upgrade(alembic_config(database_url), REVISION)
    assert _pins(engine) == pins
    with Session(engine) as s:
        assert not events_for(s, DEFINITION_SUBJECT, "khuyen-cong-local:3")
