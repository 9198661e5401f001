"""Writing notices: who holds a role over a proposal (set-based), and the outbox rows, written in the caller's
transaction by the engine's applied-operation hook (so a rolled-back action notifies nobody)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from sqlalchemy import and_, false, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from app.deadlines import due_date
from app.models import CouncilMember, Notification, NotificationPreference, Proposal, RoleGrant, User
from app.models.notifications import NO_ADDRESS, OFF, PENDING
from app.scoping import COUNCIL_ROLE
from workflow.audit import AuditEvent
from workflow.definitions import Definition
from workflow.machine import CompiledWorkflow
from workflow.notices import catalogue, declared
from workflow.storage import WorkflowMixin, utcnow


def _role_condition(definition: Definition, proposal: Proposal, role: str, member: int | None = None) -> Any:
    """Users holding ``role`` over the proposal, with the role's scope (as permissions read it)."""
    scope = definition.roles[role].scope
    held = RoleGrant.role == role
    if role == COUNCIL_ROLE:  # the council members assigned to this proposal (and not recused)
        assigned = select(CouncilMember.user_id).where(CouncilMember.proposal_id == proposal.id,
                                                       CouncilMember.recused.is_(False))
        if member is not None:  # an action about one member (their assignment) tells that member alone
            assigned = assigned.where(CouncilMember.user_id == member)
        return and_(held, User.id.in_(assigned))
    if scope == "own":
        return and_(held, User.organisation_id == proposal.organisation_id)
    unit = {"commune": proposal.commune_code, "district": proposal.district_code,
            "province": proposal.province_code}[scope]
    return and_(held, RoleGrant.unit_code == unit) if unit else false()


def recipients(session: Session, definition: Definition, proposal: Proposal, roles: Iterable[str],
               exclude_user: int | None = None, member: int | None = None) -> list[tuple[int, str | None, str, bool]]:
    """(user id, e-mail, language, reached as council member) of the active users holding any of ``roles``
    over the proposal, in one query."""
    roles = [r for r in roles if r in definition.roles]
    if not roles:
        return []
    council = _role_condition(definition, proposal, COUNCIL_ROLE, member) if COUNCIL_ROLE in roles else false()
    stmt = (select(User.id, User.email, User.language, council)
            .join(RoleGrant, RoleGrant.user_id == User.id)
            .where(User.is_active.is_(True),
                   or_(*(_role_condition(definition, proposal, r, member) for r in roles))))
    if exclude_user is not None:
        stmt = stmt.where(User.id != exclude_user)
    found: dict[int, tuple[int, str | None, str, bool]] = {}
    for user_id, email, language, as_member in session.execute(stmt):
        previous = found.get(user_id)
        found[user_id] = (user_id, email, language or "vi", bool(as_member) or bool(previous and previous[3]))
    return sorted(found.values())


def notice_params(session: Session, compiled: CompiledWorkflow, proposal: Proposal, *,
                  comment: str | None = None, actor_id: str | None = None,
                  due: dt.date | None = None) -> dict[str, Any]:
    """What the templates may show, in both languages where it differs (state titles)."""
    state = proposal.wf_state
    if due is None and proposal.wf_entered_at is not None:
        due = due_date(proposal.wf_entered_at, compiled.states[state].deadline)
    actor = session.get(User, int(actor_id)) if actor_id and actor_id.isdigit() else None
    return {"code": proposal.code, "title": proposal.title, "comment": comment or "",
            "state": {"vi": compiled.title_of(state, "vi"), "en": compiled.title_of(state, "en")},
            "actor": (actor.full_name or actor.username) if actor is not None else "",
            "due": due.strftime("%d/%m/%Y") if due else ""}


def _email_status(template_key: str, email: str | None, disabled: set[tuple[int, str]], user_id: int) -> str:
    if not email:
        return NO_ADDRESS
    if (user_id, template_key) in disabled and not catalogue()[template_key].statutory:
        return OFF
    return PENDING


def insert_notices(session: Session, proposal: Proposal, notices: list[tuple[str, str, list[Any]]],
                   params: dict[str, Any]) -> None:
    """Add one outbox row per (dedup key prefix, template key, recipients); rows whose dedup key exists already
    are skipped (ON CONFLICT DO NOTHING), which makes repeated sweeps and several workers safe."""
    user_ids = {r[0] for _prefix, _key, found in notices for r in found}
    if not user_ids:
        return
    disabled = {(user_id, key) for user_id, key in session.execute(
        select(NotificationPreference.user_id, NotificationPreference.key)
        .where(NotificationPreference.user_id.in_(user_ids), NotificationPreference.email.is_(False)))}
    now = utcnow()
    rows, seen = [], set()
    for prefix, key, found in notices:
        for user_id, email, language, as_member in found:
            dedup = f"{prefix}:{key}:{user_id}"
            if dedup in seen:
                continue
            seen.add(dedup)
            rows.append({"dedup_key": dedup, "user_id": user_id, "proposal_id": proposal.id, "key": key,
                         "lang": language if language in ("vi", "en") else "vi", "params": params,
                         "link": f"/council/proposals/{proposal.id}" if as_member else f"/proposals/{proposal.id}",
                         "created_at": now, "email_to": email,
                         "email_status": _email_status(key, email, disabled, user_id), "attempts": 0,
                         "next_attempt_at": now})
    if rows:
        insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
        session.execute(insert(Notification).on_conflict_do_nothing(index_elements=["dedup_key"]), rows)


def write_outbox(session: Session, subject: WorkflowMixin, compiled: CompiledWorkflow, event: AuditEvent) -> None:
    """The engine's hook: the notices the definition declares for this operation, in its transaction."""
    if not isinstance(subject, Proposal):
        return
    wanted = declared(compiled.definition, event.action, event.from_state, event.to_state)
    if not wanted:
        return
    actor = int(event.actor_id) if event.actor_id and event.actor_id.isdigit() else None
    member = (event.diff or {}).get("member")  # council actions about one member name them in their diff
    member = member if isinstance(member, int) else None
    notices = [(f"ev:{event.id}", d.key, recipients(session, compiled.definition, subject, d.roles, actor, member))
               for d in wanted]
    params = notice_params(session, compiled, subject, comment=event.comment, actor_id=event.actor_id)
    insert_notices(session, subject, notices, params)

