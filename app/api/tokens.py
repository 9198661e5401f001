"""Bearer tokens for the JSON API.

A token is shown once, when issued; the database keeps only its SHA-256, so a leaked database does not leak
usable tokens. API requests authenticate with the token alone: the session cookie is ignored there, which is
what makes exempting the API from CSRF safe. Tokens expire (``API_TOKEN_DAYS`` by default), record when they were
last used, and are revoked one by one (admin page, ``flask revoke-token``) or all at once when the user's password
is reset or the account deactivated. Issue and revocation are audit events on the token's own chain
(``api_token:<id>``) and security-log entries.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from flask import Request
from sqlalchemy import or_, select, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from app.admin.audit import append_event
from app.models import ApiToken, User
from app.security.log import security_event
from workflow.storage import READ_ONLY_OPTION, utcnow

PREFIX = "gf_"
DEFAULT_DAYS = 90
LAST_USED_RESOLUTION = dt.timedelta(minutes=1)  # last use is written at most once a minute per token


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(session: Session, user: User, name: str, *, days: int = DEFAULT_DAYS, actor_id: str = "system:cli",
                actor_role: str = "operator") -> str:
    """Create a token for ``user`` valid ``days`` days; returns the token itself, which is never stored."""
    token = PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(user_id=user.id, name=name, token_hash=token_digest(token),
                   expires_at=(expires_at := utcnow() + dt.timedelta(days=days)))
    session.add(row)
    session.flush()
    append_event(session, row, "token.issue", actor_id=actor_id, actor_role=actor_role, outcome="created",
                 inputs={"user_id": user.id, "name": name, "expires_at": expires_at.isoformat()})
    security_event("token_issued", token_id=row.id, for_user_id=user.id, by=actor_id)
    return token


def revoke_tokens(session: Session, user: User, *, actor_id: str, actor_role: str, token_id: int | None = None,
                  reason: str = "revoked") -> list[int]:
    """Revoke one live token of ``user`` (``token_id``) or all of them; returns the ids revoked."""
    live = select(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked.is_(False))
    if token_id is not None:
        live = live.where(ApiToken.id == token_id)
    tokens = list(session.scalars(live.order_by(ApiToken.id)))
    for token in tokens:
        append_event(session, token, "token.revoke", actor_id=actor_id, actor_role=actor_role,
                     diff={"revoked": [False, True]}, inputs={"reason": reason})  # locks the token's row first
        token.revoked, token.revoked_at = True, utcnow()
    ids = [t.id for t in tokens]
    if ids:
        security_event("token_revoked", token_ids=ids, for_user_id=user.id, by=actor_id, reason=reason)
    return ids


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def user_for_token(session: Session, token: str) -> User | None:
    """The active user owning a live (not revoked, not expired) token, or None. Notes the token's use."""
    now = utcnow()
    stmt = (select(User, ApiToken).join(ApiToken, ApiToken.user_id == User.id)
            .where(ApiToken.token_hash == token_digest(token), ApiToken.revoked.is_(False),
                   or_(ApiToken.expires_at.is_(None), ApiToken.expires_at > now), User.is_active.is_(True)))
    row = session.execute(stmt).one_or_none()
    if row is None:
        return None
    user, api_token = row
    if api_token.last_used_at is None or _aware(api_token.last_used_at) < now - LAST_USED_RESOLUTION:
        _note_use(session, api_token, now)
    return user


def _note_use(session: Session, api_token: ApiToken, now: dt.datetime) -> None:
    """Last use is a convenience, never a reason to wait or to fail a request. A write request records it in its
    own transaction; a read request (which on SQLite must not take the write lock) in a short one of its own that
    gives up at once when the database is busy."""
    bind = session.get_bind()
    if bind.get_execution_options().get(READ_ONLY_OPTION) is not True:
        api_token.last_used_at = now
        return
    try:
        with bind.connect() as conn:  # type: ignore[union-attr]  # the app's sessions are bound to an Engine
            sqlite = conn.dialect.name == "sqlite"
            busy = conn.exec_driver_sql("PRAGMA busy_timeout").scalar() if sqlite else None
            conn.exec_driver_sql("PRAGMA busy_timeout = 0" if sqlite else "SET LOCAL lock_timeout = '100ms'")
            try:
                conn.execute(update(ApiToken).where(ApiToken.id == api_token.id).values(last_used_at=now))
                conn.commit()
            finally:
                if sqlite:
                    conn.rollback()
                    conn.exec_driver_sql(f"PRAGMA busy_timeout = {int(busy or 0)}")
                    conn.commit()
    except OperationalError:  # busy: the next request notes it
        return


def _aware(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)  # SQLite returns naive UTC


def load_user_from_request(session: Session, request: Request) -> User | None:
    token = bearer_token(request)
    if not token:
        return None
    user = user_for_token(session, token)
    if user is None:
        security_event("token_rejected")  # unknown, revoked or expired (which one is not said to the caller)
    return user
