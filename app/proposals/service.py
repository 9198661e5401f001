"""Creating and editing proposals: the view-independent part, shared by pages, CLI, demo and tests."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.models import Attachment, Proposal, ProposalCodeCounter, User
from app.models.proposals import EDITABLE_FIELDS, district_of
from workflow import operations
from workflow.explain import Explanation
from workflow.machine import CompiledWorkflow
from workflow.permissions import Actor
from workflow.registry import default_registry

WORKFLOW = "khuyen-cong-local"
# The two-tier reform: from 1 July 2025 communes review (v2); earlier years ran district review (v1).
REFORM_YEAR = 2025


def workflow_for_year(year: int) -> CompiledWorkflow:
    registry = default_registry()
    return registry.get(WORKFLOW, 1) if year < REFORM_YEAR else registry.latest(WORKFLOW)


def next_code(session: Session, year: int) -> str:
    """The year's next code from its counter row. The UPDATE holds the row's lock until the caller's
    transaction ends, so concurrent creates take consecutive numbers instead of racing on max() + 1."""
    bump = (update(ProposalCodeCounter).where(ProposalCodeCounter.year == year)
            .values(last_number=ProposalCodeCounter.last_number + 1)
            .returning(ProposalCodeCounter.last_number))
    number = session.execute(bump).scalar()
    if number is None:  # the year's first code: start after any code already given (data from before 0004)
        try:
            with session.begin_nested():
                session.add(ProposalCodeCounter(year=year, last_number=_highest_number(session, year)))
        except IntegrityError:
            pass  # a concurrent create started the counter first; the UPDATE below waits for it
        number = session.execute(bump).scalar_one()
    return f"KC-{year}-{number:04d}"


def _highest_number(session: Session, year: int) -> int:
    prefix = f"KC-{year}-"
    codes = session.scalars(select(Proposal.code).where(Proposal.code.like(prefix + "%"))
                            .order_by(func.length(Proposal.code).desc(), Proposal.code.desc()).limit(1)).all()
    suffix = codes[0].removeprefix(prefix) if codes else ""
    return int(suffix) if suffix.isdigit() else 0


def create_proposal(session: Session, user: User, fields: Mapping[str, Any], *, province_code: str,
                    compiled: CompiledWorkflow | None = None, request_id: str | None = None) -> Proposal:
    """A new draft for the user's organisation, created through the engine so it is audited."""
    if user.organisation is None:
        raise ValueError("only a user acting for an organisation can create a proposal")
    values = {k: v for k, v in fields.items() if k in EDITABLE_FIELDS and k != "commune_code"}
    code = next_code(session, values["year"])  # before the new row joins the session (autoflush)
    proposal = Proposal(code=code, organisation=user.organisation, created_by=user, **values)
    proposal.locate(session, fields.get("commune_code") or user.organisation.commune_code, province_code)
    compiled = compiled or workflow_for_year(proposal.year)
    operations.create(session, proposal, user.actor(), compiled, request_id=request_id)
    return proposal


def edit_proposal(session: Session, proposal: Proposal, user: User, changes: Mapping[str, Any],
                  expected_version: int | None, *, request_id: str | None = None) -> Any:
    """An audited edit of the editable fields; a new commune also moves the derived district."""
    changes = {k: v for k, v in changes.items() if getattr(proposal, k) != v}
    if "commune_code" in changes:
        changes["district_code"] = district_of(session, changes["commune_code"])
    return operations.edit(session, proposal, user.actor(), changes, expected_version,
                           allowed_fields=(*EDITABLE_FIELDS, "district_code"), request_id=request_id)


def add_attachment(session: Session, proposal: Proposal, actor: Actor, attachment: Attachment,
                   check: Callable[[], Explanation], *, request_id: str | None = None) -> Any:
    """Attach a stored file as an audited action; the event records its kind, name, size and checksum."""

    def apply() -> dict[str, Any]:
        proposal.attachments.append(attachment)
        return {"attachment": {"kind": attachment.kind, "name": attachment.original_name,
                               "sha256": attachment.sha256, "size": attachment.size}}

    return operations.act(session, proposal, actor, "attach", check=check, apply=apply,
                          inputs={"kind": attachment.kind}, request_id=request_id)
