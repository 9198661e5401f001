"""Priority (Circular 46/2012 art. 6.3): the applicant claims priority region/sector flags; a Centre officer
confirms or corrects them before the appraisal concludes (``priority_confirmed`` guard). Confirmed flags order
allocation (app.rounds.services.allocation_key) and raise the cap (app.common.caps); they are not score points."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session

from app.common.rules import explain_action
from workflow import operations
from workflow.permissions import Actor
from workflow.storage import utcnow


def confirm_priority(session: Session, proposal: Any, actor: Actor, inputs: Mapping[str, Any], *,
                     expected_version: int | None = None, request_id: str | None = None) -> Any:
    """Set the flags as the officer finds them; the event keeps the applicant's claim beside the decision."""
    cleaned = operations.action_inputs(session, proposal, actor, "confirm_priority", inputs, request_id=request_id)

    def apply() -> dict[str, Any]:
        changes = {flag: [getattr(proposal, flag), value] for flag, value in cleaned.items()}
        for flag in cleaned:
            setattr(proposal, flag, cleaned[flag])
        proposal.priority_confirmed_at, proposal.priority_confirmed_by_id = utcnow(), int(actor.user_id)
        return {**changes, "corrected": any(old != new for old, new in changes.values())}

    return operations.act(session, proposal, actor, "confirm_priority",
                          check=lambda: explain_action(proposal, actor, "confirm_priority"),
                          apply=apply, inputs=cleaned, expected_version=expected_version, request_id=request_id)
