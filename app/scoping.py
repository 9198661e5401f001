"""Scope every query to the actor: own organisation, commune, district or province.

The scope of each role comes from the loaded definitions (the union over their versions), so a role means
the same thing to the list pages as it does to the engine.
"""

from __future__ import annotations

from typing import Any

from flask import abort
from sqlalchemy import Select, and_, exists, false, not_, or_, select, true
from sqlalchemy.orm import Session, aliased

from app.models import CouncilMember, Proposal
from workflow.registry import default_registry


def role_scopes() -> dict[str, str]:
    return default_registry().role_scopes


COUNCIL_ROLE = "council_member"


def _on_its_council(user: Any) -> Any:
    seat = aliased(CouncilMember)  # its own alias: queries that already join CouncilMember must not correlate it
    return exists().where(seat.proposal_id == Proposal.id, seat.user_id == user.id)


def _outside_blind_review(user: Any) -> Any:
    """Under blind review a member of a proposal's council reaches it through the council pages alone, which
    hide the applicant; everywhere else (lists, proposal page, files, API) it does not exist for them, whatever
    other grants they hold: blindness goes with the council seat, not with the set of roles."""
    blind = default_registry().blind_review_keys
    if COUNCIL_ROLE not in {g.role for g in user.grants} or not blind:
        return true()
    blind_workflow = or_(*(and_(Proposal.wf_workflow == w, Proposal.wf_workflow_version == v) for w, v in blind))
    return not_(and_(blind_workflow, _on_its_council(user)))


DRAFT_STATE = "draft"  # the initial state of every proposal lifecycle: no transition leads back to it


def submitted() -> Any:
    """Proposals past their draft: a draft is its organisation's alone until first submitted (docs/privacy.md)."""
    return Proposal.wf_state != DRAFT_STATE


def scope_clause(user: Any, *, council_review: bool = False) -> Any:
    """A WHERE clause matching the proposals this user may see (false when none). ``council_review`` is for
    the council's own pages, which may show blind-review proposals because they hide the applicant. Only the
    applicant's own organisation sees a draft; every other grant reaches submitted proposals only."""
    scopes = role_scopes()
    conditions = []
    for grant in user.grants:
        scope = scopes.get(grant.role)
        if grant.role == COUNCIL_ROLE:  # the council grant reaches the proposals the user is assigned to
            conditions.append(and_(_on_its_council(user), submitted()))
        elif scope == "own" and user.organisation_id is not None:
            conditions.append(Proposal.organisation_id == user.organisation_id)
        elif scope == "commune" and grant.unit_code:
            conditions.append(and_(Proposal.commune_code == grant.unit_code, submitted()))
        elif scope == "district" and grant.unit_code:
            conditions.append(and_(Proposal.district_code == grant.unit_code, submitted()))
        elif scope == "province" and grant.unit_code:
            conditions.append(and_(Proposal.province_code == grant.unit_code, submitted()))
    if not conditions:
        return false()
    return and_(or_(*conditions), true() if council_review else _outside_blind_review(user))


def visible_proposals(user: Any, *, council_review: bool = False) -> Select[Proposal]:
    return select(Proposal).where(scope_clause(user, council_review=council_review))


def load_proposal(session: Session, user: Any, proposal_id: int, *, council_review: bool = False) -> Proposal:
    """The proposal if it is in the user's scope; 404 otherwise (never reveal that it exists)."""
    stmt = visible_proposals(user, council_review=council_review).where(Proposal.id == proposal_id)
    proposal = session.execute(stmt).scalar_one_or_none()
    if proposal is None:
        abort(404)
    return proposal
