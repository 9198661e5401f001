"""ORM objects to the API's answer models, with labels in the caller's language."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from app.api.errors import api_lang
from app.models import Proposal, Unit, User
from app.proposals.schemas import (
    ActionOut,
    AttachmentOut,
    EventOut,
    OrganisationOut,
    ProposalOut,
    ProposalSummary,
    UnitOut,
)
from workflow.registry import default_registry

FIELDS = ("id", "code", "title", "commune_code", "district_code", "province_code", "category", "sector", "year",
          "total_cost", "requested_support", "counterpart_funds", "duration_months", "objectives",
          "expected_results", "expected_jobs", "expected_output", "priority_region", "priority_sector",
          "created_at", "fund", "round_id")


def unit_out(unit: Unit) -> UnitOut:
    return UnitOut(code=unit.code, name=unit.name, level=unit.level, parent_code=unit.parent_code,
                   district_code=unit.district_code, active=unit.active)


def proposal_summary(p: Proposal) -> ProposalSummary:
    compiled = default_registry().for_subject(p)
    return ProposalSummary(id=p.id, code=p.code, title=p.title, organisation=p.organisation.name,
                           commune_code=p.commune_code, district_code=p.district_code, category=p.category,
                           sector=p.sector, year=p.year, requested_support=p.requested_support,
                           state=p.wf_state, state_title=compiled.title_of(p.wf_state, api_lang()),
                           version=p.wf_version)


def proposal_out(session: Session, p: Proposal, user: User) -> ProposalOut:
    lang = api_lang()
    compiled = default_registry().for_subject(p)
    actor = user.actor()
    actions = [ActionOut(trigger=a.trigger, title=a.title.get(lang) or a.trigger, target=a.target,
                         requires=list(a.requires)) for a in compiled.allowed_actions(p, actor, session=session)]
    org = p.organisation
    return ProposalOut(
        **{name: getattr(p, name) for name in FIELDS},
        organisation=OrganisationOut(id=org.id, name=org.name, kind=org.kind, tax_code=org.tax_code),
        state=p.wf_state, state_title=compiled.title_of(p.wf_state, lang), version=p.wf_version,
        workflow=p.wf_workflow, workflow_version=p.wf_workflow_version,
        priority_confirmed=p.priority_confirmed_at is not None,
        attachments=[AttachmentOut.model_validate(a, from_attributes=True) for a in p.attachments],
        allowed_actions=actions, editable=compiled.explain_edit(p, actor).allowed,
    )


def event_out(event: Any) -> EventOut:
    return EventOut.model_validate(event, from_attributes=True)
