"""Admin actions on users, grants and units, recorded on the same hash-chained audit trail as proposals.

``workflow.operations.act`` needs a workflow subject (pinned definition, state, version), which users and
units are not, so admin events are appended with ``workflow.audit.append`` directly: one chain per user
(``user:<id>``), per unit (``unit:<code>``) and per API token (``api_token:<id>``: issue, revoke), covered by the same verification and checkpoints. The subject's
row is locked first, as ``append`` requires, so two admins editing one user cannot fork its chain.
"""

from __future__ import annotations

from typing import Any

from flask import g, has_app_context
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import ApiToken, Unit, User
from workflow import audit

_CHAINS = ((User, "user", User.id), (Unit, "unit", Unit.code), (ApiToken, "api_token", ApiToken.id))


def record(session: Session, admin: User, subject: Any, action: str, *, outcome: str = "applied",
           inputs: dict[str, Any] | None = None, diff: dict[str, Any] | None = None) -> None:
    """Append ``admin.<action>`` to the subject's chain (the subject row must already be flushed)."""
    grant = next((gr for gr in admin.grants if gr.role == "admin"), None)
    append_event(session, subject, f"admin.{action}", actor_id=str(admin.id), actor_role="admin",
                 actor_unit=grant.unit_code if grant else None, outcome=outcome, inputs=inputs, diff=diff)


def append_event(session: Session, subject: Any, action: str, *, actor_id: str, actor_role: str,
                 actor_unit: str | None = None, outcome: str = "applied", inputs: dict[str, Any] | None = None,
                 diff: dict[str, Any] | None = None) -> None:
    """Append ``action`` to a user's, unit's or API token's chain, by any actor (an admin, the user, the command
    line)."""
    subject_type, column = next((name, column) for kind, name, column in _CHAINS if isinstance(subject, kind))
    key = getattr(subject, column.key)
    session.execute(select(column).where(column == key).with_for_update())
    audit.append(session, subject_type=subject_type, subject_id=str(key), action=action, outcome=outcome,
                 actor_id=actor_id, actor_role=actor_role, actor_unit=actor_unit, inputs=inputs, diff=diff,
                 request_id=g.get("request_id") if has_app_context() else None)
