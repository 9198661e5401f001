"""Users, their role grants over units, applicant organisations, and API tokens."""

from __future__ import annotations

import datetime as dt
import functools
import secrets

from flask_login import UserMixin
from sqlalchemy import Boolean, DateTime, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from app.db import Base
from workflow.permissions import Actor, Grant
from workflow.storage import utcnow


@functools.cache
def _dummy_hash() -> str:
    return generate_password_hash(secrets.token_hex(16))


def check_password(password_hash: str | None, password: str) -> bool:
    """Check a password against a stored hash; with none (an unknown user), against a dummy one, so that every
    login attempt costs one hash computation and its timing does not reveal whether the username exists."""
    matches = check_password_hash(password_hash or _dummy_hash(), password)
    return bool(password_hash) and matches


class Organisation(Base):
    __tablename__ = "organisation"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(300))
    kind: Mapped[str] = mapped_column(String(32))  # a key of app.models.proposals.ORGANISATION_KINDS
    tax_code: Mapped[str] = mapped_column(String(20), unique=True)
    commune_code: Mapped[str | None] = mapped_column(ForeignKey("unit.code"))

    @property
    def owner_key(self) -> str:
        return f"org:{self.id}"


class User(UserMixin, Base):
    __tablename__ = "user_account"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    full_name: Mapped[str] = mapped_column(String(200), default="")
    email: Mapped[str | None] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(255))
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id"))
    language: Mapped[str] = mapped_column(String(2), default="vi")
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Bumped on logout, password change or reset and deactivation: sessions carrying an older one are dead.
    session_generation: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    organisation: Mapped[Organisation | None] = relationship()
    grants: Mapped[list[RoleGrant]] = relationship(back_populates="user", cascade="all, delete-orphan",
                                                   lazy="selectin")

    def set_password(self, password: str) -> None:
        """Store a new password's hash and end every session opened with the old one."""
        self.password_hash = generate_password_hash(password)  # werkzeug's default: scrypt, salted
        self.end_sessions()

    def check_password(self, password: str) -> bool:
        return check_password(self.password_hash, password)

    def end_sessions(self) -> None:
        self.session_generation = (self.session_generation or 0) + 1

    def actor(self) -> Actor:
        """The engine's view of this user: id, role grants and the organisation they act for."""
        owner_keys = [self.organisation.owner_key] if self.organisation_id and self.organisation else []
        if self.organisation_id and not owner_keys:
            owner_keys = [f"org:{self.organisation_id}"]
        return Actor(str(self.id), tuple(Grant(g.role, g.unit_code) for g in self.grants), frozenset(owner_keys))

    @property
    def roles(self) -> set[str]:
        return {g.role for g in self.grants}


class RoleGrant(Base):
    __tablename__ = "role_grant"
    __table_args__ = (UniqueConstraint("user_id", "role", "unit_code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(64))
    unit_code: Mapped[str | None] = mapped_column(ForeignKey("unit.code"))

    user: Mapped[User] = relationship(back_populates="grants")


class ApiToken(Base):
    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)  # sha256 of the token; the token is shown once
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)
    expires_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    last_used_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))

    user: Mapped[User] = relationship()
