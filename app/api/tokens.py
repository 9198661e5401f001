"""Bearer tokens for the JSON API.

A token is shown once, when issued; the database keeps only its SHA-256, so a leaked database does not leak
usable tokens. API requests authenticate with the token alone: the session cookie is ignored there, which is
what makes exempting the API from CSRF safe.
"""

from __future__ import annotations

import hashlib
import secrets

from flask import Request
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import ApiToken, User

PREFIX = "gf_"


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(session: Session, user: User, name: str) -> str:
    """Create a token for ``user``; returns the token itself, which is never stored."""
    token = PREFIX + secrets.token_urlsafe(32)
    session.add(ApiToken(user_id=user.id, name=name, token_hash=token_digest(token)))
    session.flush()
    return token


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def user_for_token(session: Session, token: str) -> User | None:
    """The active user owning a live token, or None."""
    stmt = (select(User).join(ApiToken, ApiToken.user_id == User.id)
            .where(ApiToken.token_hash == token_digest(token), ApiToken.revoked.is_(False),
                   User.is_active.is_(True)))
    return session.execute(stmt).scalar_one_or_none()


def load_user_from_request(session: Session, request: Request) -> User | None:
    token = bearer_token(request)
    return user_for_token(session, token) if token else None
