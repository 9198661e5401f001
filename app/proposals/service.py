"""Creating and editing proposals: the view-independent part, shared by pages, CLI, demo and tests."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.models import Attachment, Proposal, User
from app.models.proposals import EDITABLE_FIELDS, district_of
from workflow import operations
from workflow.explain import Explanation
from workflow.machine import CompiledWorkflow
from workflow.permissions import Actor
from workflow.registry import default_registry

WORKFLOW = "khuyen-cong-local"
# The two-tier reform: from 1 July 2025 communes review (v2); earlier years ran district review (v1).
REFORM_YEAR = 2025
CODE_ATTEMPTS = 3


def workflow_for_year(year: int) -> CompiledWorkflow:
    registry = default_registry()
    return registry.get(WORKFLOW, 1) if year < REFORM_YEAR else registry.latest(WORKFLOW)


def next_code(session: Session, year: int) -> str:
    prefix = f"KC-{year}-"
    last = session.scalar(select(func.max(Proposal.code)).where(Proposal.code.like(prefix + "%")))
    number = int(last.removeprefix(prefix)) + 1 if last else 1
    return f"{prefix}{number:04d}"


def create_proposal(session: Session, user: User, fields: Mapping[str, Any], *, province_code: str,
                    compiled: CompiledWorkflow | None = None, request_id: str | None = None) -> Proposal:
    """A new draft for the user's organisation, created through the engine so it is audited."""
    from app.stages.rounds import round_for_new_proposal, workflow_for_round  # app.stages imports this module

    if user.organisation is None:
        raise ValueError("only a user acting for an organisation can create a proposal")
    values = {k: v for k, v in fields.items() if k in EDITABLE_FIELDS and k != "commune_code"}
    proposal = Proposal(organisation=user.organisation, created_by=user, **values)
    proposal.locate(session, fields.get("commune_code") or user.organisation.commune_code, province_code)
    plan_round = round_for_new_proposal(session, province_code, proposal.year, fields.get("round_id"))
    if plan_round is not None:  # filed into a plan round: the round's fund decides the definition
        proposal.round_id, proposal.fund, proposal.year = plan_round.id, plan_round.fund, plan_round.plan_year
        compiled = compiled or workflow_for_round(plan_round)
    compiled = compiled or workflow_for_year(proposal.year)
    for attempt in range(CODE_ATTEMPTS):
        proposal.code = next_code(session, proposal.year)
        try:
            with session.begin_nested():  # two concurrent drafts may pick the same next code
                operations.create(session, proposal, user.actor(), compiled, request_id=request_id)
            return proposal
        except IntegrityError:
            if attempt == CODE_ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")


def edit_proposal(session: Session, proposal: Proposal, user: User, changes: Mapping[str, Any],
                  expected_version: int | None, *, request_id: str | None = None) -> Any:
    """An audited edit of the editable fields; a new commune also moves the derived district."""
    changes = {k: v for k, v in changes.items() if getattr(proposal, k) != v}
    if "commune_code" in changes:
        changes["district_code"] = district_of(session, changes["commune_code"])
    if {"priority_region", "priority_sector"} & set(changes) and proposal.priority_confirmed_at is not None:
        changes.update(priority_confirmed_at=None, priority_confirmed_by_id=None)  # a new claim needs checking
    return operations.edit(session, proposal, user.actor(), changes, expected_version,
                           allowed_fields=(*EDITABLE_FIELDS, "district_code", "priority_confirmed_at",
                                           "priority_confirmed_by_id"), request_id=request_id)


def add_attachment(session: Session, proposal: Proposal, actor: Actor, attachment: Attachment,
                   check: Callable[[], Explanation], *, request_id: str | None = None) -> Any:
    """Attach a stored file as an audited action; the event records its kind, name, size and checksum."""

    def apply() -> dict[str, Any]:
        proposal.attachments.append(attachment)
        return {"attachment": {"kind": attachment.kind, "name": attachment.original_name,
                               "sha256": attachment.sha256, "size": attachment.size}}

    return operations.act(session, proposal, actor, "attach", check=check, apply=apply,
                          inputs={"kind": attachment.kind}, request_id=request_id)
