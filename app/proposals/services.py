"""Creating and editing proposals: the view-independent part, shared by pages, CLI, demo and tests."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.common.rules import explain_action
from app.deadlines import today
from app.models import Attachment, Proposal, ProposalCodeCounter, User
from app.models.proposals import EDITABLE_FIELDS, district_of
from app.models.units import Unit, UnitHistory
from app.proposals.fields import checked, problems
from workflow import operations
from workflow.explain import Explanation
from workflow.machine import CompiledWorkflow
from workflow.permissions import Actor
from workflow.registry import default_registry

WORKFLOW = "khuyen-cong-local"
RECORDED_AMOUNTS = ("requested_support", "total_cost")  # in the create event: verify holds the row to them


def workflow_on(day: dt.date, workflow: str = WORKFLOW) -> CompiledWorkflow:
    """The lifecycle version a proposal created on ``day`` runs: by date (effective_from in the definitions),
    never by plan year. Web, API, demo and rounds all come through here (create_proposal)."""
    return default_registry().for_date(workflow, day)


def commune_refusal(session: Session, code: str | None, day: dt.date) -> dict[str, str] | None:
    """Why ``code`` cannot be a new proposal's commune on ``day`` (unknown, or abolished: naming its successor)."""
    if code is None:
        return None
    unit = session.get(Unit, code)
    if unit is None or unit.level != "commune":
        return {"vi": f"Không có xã/phường mã {code}", "en": f"No commune with code {code}"}
    if unit.active and (unit.valid_from is None or unit.valid_from <= day):
        return None
    history = UnitHistory.load(session)
    successor = history.successor(code)
    if successor != code and successor in history.valid_now and unit.valid_to is not None:
        name, end = history.current[successor], unit.valid_to
        return {"vi": f"{unit.name} (mã {code}) không còn sau ngày {end:%d/%m/%Y}; nay là {name} (mã {successor})",
                "en": f"{unit.name} ({code}) no longer exists after {end:%d %B %Y}; it is now {name} ({successor})"}
    return {"vi": f"{unit.name} (mã {code}) không còn hiệu lực", "en": f"{unit.name} ({code}) is no longer in use"}


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
                    created_on: dt.date | None = None, request_id: str | None = None) -> Proposal:
    """A new draft for the user's organisation, created through the engine so it is audited. A proposal filed
    into a plan round takes the round's fund (which names the lifecycle); the version is the one in effect on
    ``created_on`` (today in Vietnam unless an import gives the historical day)."""
    from app.rounds.services import (  # the rounds services import this module
        FUND_WORKFLOWS,
        round_for_new_proposal,
    )

    if user.organisation is None:
        raise ValueError("only a user acting for an organisation can create a proposal")
    given = {k: v for k, v in fields.items() if k in EDITABLE_FIELDS and v is not None}
    values = {k: v for k, v in checked(given).items() if k != "commune_code"}  # InvalidInput names the field
    plan_round = round_for_new_proposal(session, province_code, values["year"], fields.get("round_id"))
    if plan_round is not None:  # filed into a plan round: the round's fund names the lifecycle, its year the plan
        values.update(round_id=plan_round.id, fund=plan_round.fund, year=plan_round.plan_year)
    code = next_code(session, values["year"])  # before the new row joins the session (autoflush)
    proposal = Proposal(code=code, organisation=user.organisation, created_by=user, **values)
    proposal.locate(session, fields.get("commune_code") or user.organisation.commune_code, province_code)
    workflow = FUND_WORKFLOWS[plan_round.fund] if plan_round is not None else WORKFLOW
    operations.create(session, proposal, user.actor(), workflow_on(created_on or today(), workflow),
                      request_id=request_id, inputs={name: getattr(proposal, name) for name in RECORDED_AMOUNTS})
    return proposal


def edit_proposal(session: Session, proposal: Proposal, user: User, changes: Mapping[str, Any],
                  expected_version: int | None, *, request_id: str | None = None) -> Any:
    """An audited edit of the editable fields, checked with the proposal's other values (the same rules as a
    create); a new commune also moves the derived district."""
    editable = {k: v for k, v in changes.items() if k in EDITABLE_FIELDS}
    if editable:
        values, changed = _edited(proposal, editable)
        cleaned = checked(values, changed=changed)
        changes = {**changes, **{k: cleaned[k] for k in editable if k in cleaned}}
    changes = {k: v for k, v in changes.items() if getattr(proposal, k) != v}
    if "commune_code" in changes:
        changes["district_code"] = district_of(session, changes["commune_code"])
    if {"priority_region", "priority_sector"} & set(changes) and proposal.priority_confirmed_at is not None:
        changes.update(priority_confirmed_at=None, priority_confirmed_by_id=None)  # a new claim needs checking
    return operations.edit(session, proposal, user.actor(), changes, expected_version,
                           allowed_fields=(*EDITABLE_FIELDS, "district_code", "priority_confirmed_at",
                                           "priority_confirmed_by_id"), request_id=request_id)


def _edited(proposal: Proposal, editable: Mapping[str, Any]) -> tuple[dict[str, Any], set[str]]:
    """The proposal's values with the edit applied, and the fields the edit changes."""
    current = {name: getattr(proposal, name) for name in EDITABLE_FIELDS}
    return {**current, **editable}, {k for k, v in editable.items() if current[k] != v}


def proposal_problems(fields: Mapping[str, Any], *, proposal: Proposal | None = None,
                      unread: set[str] | frozenset[str] = frozenset()) -> dict[str, dict[str, str]]:
    """What create_proposal (or edit_proposal, given the ``proposal``) would refuse in ``fields``, as
    InvalidInput.errors, without saving anything: for a page that could not read some fields (``unread``, which
    it marks itself) and shows the service's verdict on all the others in the same answer."""
    given = {k: v for k, v in fields.items() if k in EDITABLE_FIELDS and k not in unread}
    if proposal is None:
        found, _ = problems({k: v for k, v in given.items() if v is not None}, unread=unread)
        return found
    values, changed = _edited(proposal, given)
    found, _ = problems(values, changed=changed, unread=unread)
    return found


UPLOADS = ("attach", "attach_acceptance_record")  # the definitions' upload actions, dossier first


def upload_action(proposal: Proposal, kind: str) -> str:
    """The upload action whose declared kinds include ``kind`` (the dossier's, else the acceptance records')."""
    specs = default_registry().for_subject(proposal).action_inputs
    return next((a for a in UPLOADS if kind in (getattr(specs.get(a, {}).get("kind"), "choices", None) or ())),
                UPLOADS[0])


def add_attachment(session: Session, proposal: Proposal, actor: Actor, attachment: Attachment, *,
                   request_id: str | None = None) -> Any:
    """Attach a stored file as an audited action declared in the definition (``attach`` for the dossier,
    ``attach_acceptance_record`` while implementing); the event records its kind, name, size and checksum."""
    action = upload_action(proposal, attachment.kind)
    operations.action_inputs(session, proposal, actor, action, {"kind": attachment.kind}, request_id=request_id)

    def apply() -> dict[str, Any]:
        proposal.attachments.append(attachment)
        return {"attachment": {"kind": attachment.kind, "name": attachment.original_name,
                               "sha256": attachment.sha256, "size": attachment.size}}

    return operations.act(session, proposal, actor, action, check=lambda: explain_action(proposal, actor, action),
                          apply=apply, inputs={"kind": attachment.kind}, request_id=request_id)


def remove_attachment(session: Session, proposal: Proposal, actor: Actor, attachment: Attachment, *,
                      replaced_by: Attachment | None = None, request_id: str | None = None) -> Any:
    """Unlink a document from the live list before submission, as an audited action (``remove_attachment``).
    The row and the file stay (the record keeps what was filed and when); the check runs after the lock, so a
    submitted dossier is final (409)."""

    def apply() -> dict[str, Any]:
        attachment.removed_at = dt.datetime.now(dt.UTC)
        attachment.removed_by_id = int(actor.user_id) if str(actor.user_id).isdigit() else None
        session.expire(proposal, ["attachments"])  # re-read the live list without the removed row
        removed = {"kind": attachment.kind, "name": attachment.original_name, "sha256": attachment.sha256}
        return {"removed": removed, **({"replaced_by": replaced_by.original_name} if replaced_by else {})}

    return operations.act(session, proposal, actor, "remove_attachment",
                          check=lambda: explain_action(proposal, actor, "remove_attachment"), apply=apply,
                          inputs={"attachment_id": attachment.id, "kind": attachment.kind}, request_id=request_id)


def duplicate_of(proposal: Proposal, sha256: str) -> Attachment | None:
    """A live document of the proposal with the same content (same SHA-256)."""
    return next((a for a in proposal.attachments if a.sha256 == sha256), None)


def upload_permission(proposal: Proposal, compiled: Any, actor: Any) -> tuple[Explanation, list[str]]:
    """The first upload action (``attach``, ``attach_acceptance_record``) the definition lets the actor take now,
    and the document kinds it declares; else the first refusal and no kinds."""
    first: Explanation | None = None
    for action in UPLOADS:
        exp = explain_action(proposal, actor, action)
        spec = compiled.action_inputs.get(action, {}).get("kind")
        if exp.allowed and spec is not None:
            return exp, list(spec.choices or ())
        first = first or exp
    assert first is not None
    return first, []


def upload_kinds(proposal: Proposal, compiled: Any, actor: Any) -> list[str]:
    return upload_permission(proposal, compiled, actor)[1]
