"""The engine drives any mapped class that uses WorkflowMixin: here a permit with a string key of its own."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import String
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from workflow import operations
from workflow.audit import events_for, verify_chain
from workflow.errors import InvalidInput, Refused
from workflow.permissions import Actor, Place
from workflow.registry import Registry
from workflow.storage import WorkflowMixin

REGISTRY = Registry.load([Path(__file__).parent / "definitions" / "permit.yaml"])


class _Base(DeclarativeBase):
    pass


class Permit(WorkflowMixin, _Base):
    __tablename__ = "test_permit"
    wf_subject_type = "permit"

    ref: Mapped[str] = mapped_column(String(20), primary_key=True)
    holder: Mapped[str] = mapped_column(String(40))
    commune: Mapped[str] = mapped_column(String(8))
    note: Mapped[str] = mapped_column(String(200), default="")

    def wf_place(self) -> Place:
        return Place(owner=self.holder, commune=self.commune)

    def wf_subject_id(self) -> str:
        return self.ref


CLERK = Actor.of("clerk-1", [("clerk", "05830")])
OTHER_CLERK = Actor.of("clerk-2", [("clerk", "05908")])
OWNER = Actor.of("owner-1", [("owner", None)], owner_keys=["h1"])


@pytest.fixture
def permits(engine):
    _Base.metadata.create_all(engine)
    return engine


def test_permit_lifecycle_is_audited(permits):
    with Session(permits) as s:
        permit = Permit(ref="GP-001", holder="h1", commune="05830")
        operations.create(s, permit, OWNER, REGISTRY.get("test-permit", 1))
        s.commit()
        operations.edit(s, permit, OWNER, {"note": "xin cấp"}, expected_version=1, registry=REGISTRY)
        s.commit()
        with pytest.raises(InvalidInput):
            operations.edit(s, permit, OWNER, {"holder": "h2"}, registry=REGISTRY)  # not an editable field
        with pytest.raises(Refused) as err:
            operations.fire(s, permit, "grant", OTHER_CLERK, {"comment": "ok"}, registry=REGISTRY)
        assert err.value.kind == "permission"
        s.rollback()
        operations.fire(s, permit, "grant", CLERK, {"comment": "Đủ điều kiện"}, registry=REGISTRY)
        s.commit()
        assert (permit.wf_state, permit.wf_version) == ("granted", 3)
    with Session(permits) as s:
        events = events_for(s, "permit", "GP-001")
        assert [(e.action, e.outcome, e.to_state) for e in events] == [
            ("create", "created", "open"), ("edit", "applied", "open"), ("grant", "refused", "open"),
            ("grant", "applied", "granted")]
        assert events[1].diff == {"note": ["", "xin cấp"]}
        assert events[-1].actor_unit == "05830" and events[2].actor_id == "clerk-2"
    assert verify_chain(permits).ok
