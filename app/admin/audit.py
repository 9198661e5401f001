"""Admin actions on users, grants and units, recorded on the same hash-chained audit trail as proposals.

``workflow.operations.act`` needs a workflow subject (pinned definition, state, version), which users and
units are not, so admin events are appended with ``workflow.audit.append`` directly: one chain per user
(``user:<id>``) and per unit (``unit:<code>``), covered by the same verification and checkpoints. The subject's
row is locked first, as ``append`` requires, so two admins editing one user cannot fork its chain.
"""

from __future__ import annotations

from typing import Any

from flask import g
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import Unit, User
from workflow import audit


def record(session: Session, admin: User, subject: Any, action: str, *, outcome: str = "applied",
           inputs: dict[str, Any] | None = None, diff: dict[str, Any] | None = None) -> None:
    """Append ``admin.<action>`` to the subject's chain (the subject row must already be flushed)."""
    subject_type, column = ("user", User.id) if isinstance(subject, User) else ("unit", Unit.code)
    key = getattr(subject, column.key)
    session.execute(select(column).where(column == key).with_for_update())
    grant = next((gr for gr in admin.grants if gr.role == "admin"), None)
    audit.append(session, subject_type=subject_type, subject_id=str(key), action=f"admin.{action}",
                 outcome=outcome, actor_id=str(admin.id), actor_role="admin",
                 actor_unit=grant.unit_code if grant else None, inputs=inputs, diff=diff,
                 request_id=g.get("request_id"))
