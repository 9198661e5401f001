"""The one mapping from a workflow outcome to an HTTP status, shared by the pages and the API.

Neutral: no Flask, so services, web views and API views all import it without importing each other.
"""

from __future__ import annotations

from typing import Any

from workflow.errors import Conflict, Refused
from workflow.machine import CompiledWorkflow, place_of
from workflow.permissions import Actor, covering_grants

# A refusal's kind (workflow.errors.Refused.kind) and the other failure kinds a bulk decision reports.
KIND_STATUS = {"permission": 403, "state": 409, "conflict": 409, "guard": 422, "invalid": 422}


def kind_status(kind: str) -> int:
    return KIND_STATUS.get(kind, 422)


def status_of(exc: BaseException) -> int:
    """Refused: by its kind (permission 403, state 409, guard 422); Conflict 409; InvalidInput and any other
    workflow error 422."""
    if isinstance(exc, Refused):
        return kind_status(exc.kind)
    return 409 if isinstance(exc, Conflict) else 422


def edit_refusal_status(compiled: CompiledWorkflow, actor: Actor, subject: Any) -> int:
    """A refused edit or upload: 409 when the actor may edit the subject in other states (wrong state now),
    else 403 (not theirs to edit)."""
    roles = compiled.definition.roles
    editors = {r: roles[r].scope for state in compiled.states.values() for r in state.editable_by}
    return 409 if covering_grants(actor, editors, place_of(subject)) else 403
