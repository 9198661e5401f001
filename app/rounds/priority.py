"""Priority (Circular 46/2012 art. 6.3): the applicant claims priority region/sector flags; a Centre officer
confirms or corrects them before the appraisal concludes (``priority_confirmed`` guard). Confirmed flags order
allocation (app.rounds.services.allocation_key) and raise the cap (app.common.caps); they are not score points."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session

from app.common.caps import PRIORITY_FLAGS
from app.common.rules import clean, explain_action, rule
from workflow import operations
from workflow.definitions import InputSpec
from workflow.permissions import Actor
from workflow.storage import utcnow

rule("confirm_priority", ["centre_officer"], ("local_review", "provincial_appraisal"))


def confirm_priority(session: Session, proposal: Any, actor: Actor, inputs: Mapping[str, Any], *,
                     expected_version: int | None = None, request_id: str | None = None) -> Any:
    """Set the flags as the officer finds them; the event keeps the applicant's claim beside the decision."""
    cleaned = clean(inputs, {flag: InputSpec(type="bool") for flag in PRIORITY_FLAGS})

    def apply() -> dict[str, Any]:
        changes = {flag: [getattr(proposal, flag), cleaned[flag]] for flag in PRIORITY_FLAGS}
        for flag in PRIORITY_FLAGS:
            setattr(proposal, flag, cleaned[flag])
        proposal.priority_confirmed_at, proposal.priority_confirmed_by_id = utcnow(), int(actor.user_id)
        return {**changes, "corrected": any(old != new for old, new in changes.values())}

    return operations.act(session, proposal, actor, "confirm_priority",
                          check=lambda: explain_action(proposal, actor, "confirm_priority"),
                          apply=apply, inputs=cleaned, expected_version=expected_version, request_id=request_id)
