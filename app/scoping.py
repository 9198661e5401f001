"""Scope every query to the actor: own organisation, commune, district or province.

The scope of each role comes from the loaded definitions (the union over their versions), so a role means
the same thing to the list pages as it does to the engine.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from flask import abort
from sqlalchemy import Select, false, or_, select
from sqlalchemy.orm import Session

from app.models import Proposal
from workflow.registry import default_registry


@lru_cache(maxsize=1)
def role_scopes() -> dict[str, str]:
    scopes: dict[str, str] = {}
    for compiled in default_registry():
        for name, role in compiled.definition.roles.items():
            scopes.setdefault(name, role.scope)
    return scopes


def scope_clause(user: Any) -> Any:
    """A WHERE clause matching the proposals this user may see (false when none)."""
    scopes = role_scopes()
    conditions = []
    for grant in user.grants:
        scope = scopes.get(grant.role)
        if scope == "own" and user.organisation_id is not None:
            conditions.append(Proposal.organisation_id == user.organisation_id)
        elif scope == "commune" and grant.unit_code:
            conditions.append(Proposal.commune_code == grant.unit_code)
        elif scope == "district" and grant.unit_code:
            conditions.append(Proposal.district_code == grant.unit_code)
        elif scope == "province" and grant.unit_code:
            conditions.append(Proposal.province_code == grant.unit_code)
    return or_(*conditions) if conditions else false()


def visible_proposals(user: Any) -> Select[tuple[Proposal]]:
    return select(Proposal).where(scope_clause(user))


def load_proposal(session: Session, user: Any, proposal_id: int) -> Proposal:
    """The proposal if it is in the user's scope; 404 otherwise (never reveal that it exists)."""
    stmt = visible_proposals(user).where(Proposal.id == proposal_id)
    proposal = session.execute(stmt).scalar_one_or_none()
    if proposal is None:
        abort(404)
    return proposal
