"""Request-level security: sessions that can be revoked and expire, response headers, the request id,
the proxy setting, the security log of denied object loads, and the check of the database role.

Sessions carry the user's ``session_generation`` (stamped at login); any bump (logout anywhere, password change
or reset, deactivation) ends every session stamped with an older one. A session also ends
``PERMANENT_SESSION_LIFETIME`` after login and after ``SESSION_IDLE_MINUTES`` without a request.
"""

from __future__ import annotations

import re
import time
import uuid
from typing import Any

from flask import Flask, Response, current_app, g, request, session
from flask_login import logout_user
from sqlalchemy import text
from werkzeug.middleware.proxy_fix import ProxyFix

from app.security.log import init_app as init_log
from app.security.log import security_event

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; "
       "base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
_REQUEST_ID_UNSAFE = re.compile(r"[^A-Za-z0-9._:-]")
SEEN_RESOLUTION = 60  # seconds: the idle clock is refreshed at most once a minute, not rewritten per request


def request_id() -> str:
    """The request's id: the client's X-Request-Id reduced to safe characters (it is hashed into the audit
    trail and written to logs), else a new one. One rule for pages and API alike."""
    if "request_id" not in g:
        given = _REQUEST_ID_UNSAFE.sub("", request.headers.get("X-Request-Id", ""))[:64]
        g.request_id = given or uuid.uuid4().hex
    return g.request_id


def start_session(user: Any) -> None:
    """Stamp a freshly logged-in session with the user's generation and the clocks. The cookie itself stays a
    browser-session cookie (Flask-Login's "strong" protection applies only to those); the lifetime is enforced
    here, from ``login_at``."""
    now = int(time.time())
    session.update(gen=user.session_generation or 0, login_at=now, seen=now)


def session_is_current(user: Any) -> bool:
    """For the user loader: the session was stamped with the user's current generation."""
    return session.get("gen") == (user.session_generation or 0)


def _before_request() -> None:
    request_id()
    _expire_old_sessions()


def _expire_old_sessions() -> None:
    if "_user_id" not in session:
        return
    now = int(time.time())
    lifetime = current_app.permanent_session_lifetime.total_seconds()
    idle = current_app.config["SESSION_IDLE_MINUTES"] * 60
    login_at, seen = session.get("login_at", 0), session.get("seen", 0)
    if now - login_at > lifetime or now - seen > idle:
        security_event("session_expired", user_id=int(session["_user_id"]) if session["_user_id"].isdigit() else None,
                       reason="lifetime" if now - login_at > lifetime else "idle")
        logout_user()
        session.clear()
    elif now - seen >= SEEN_RESOLUTION:
        session["seen"] = now


def _headers(response: Response) -> Response:
    response.headers["X-Request-Id"] = request_id()
    response.headers.setdefault("Content-Security-Policy", CSP)
    if request.endpoint != "static":
        response.headers["Cache-Control"] = "no-store"  # pages, API answers and attachments: never cached
        response.headers.pop("Expires", None)
    response.headers.pop("Server", None)
    if response.status_code in (403, 404) and request.view_args:
        security_event("access_denied", status=response.status_code, endpoint=request.endpoint,
                       object=dict(request.view_args))
    elif response.status_code == 429:
        security_event("throttled", status=429, endpoint=request.endpoint)
    return response


def check_database_role(app: Flask) -> str | None:
    """A warning when the app's PostgreSQL role owns ``audit_event`` (an owner can drop the append-only
    triggers: see docs/audit.md); raises when ``AUDIT_OWNER_CHECK`` is "refuse". None when all is well."""
    policy = app.config["AUDIT_OWNER_CHECK"]
    engine = app.extensions["db_engine"]
    if policy == "off" or engine.dialect.name != "postgresql":
        return None
    with engine.connect() as conn:
        owns = conn.scalar(text(
            "SELECT pg_has_role(current_user, tableowner, 'USAGE') FROM pg_tables WHERE tablename = 'audit_event'"))
    if not owns:
        return None
    message = ("The application's database role owns (or is a member of the owner of) audit_event: it could drop "
               "the append-only triggers. Run the app as a role without ownership (docs/audit.md).")
    if policy == "refuse":
        raise RuntimeError(message + " Refusing to start (AUDIT_OWNER_CHECK=refuse).")
    app.logger.warning("SECURITY: %s", message)
    return message


def init_app(app: Flask) -> None:
    if app.config["SESSION_COOKIE_SECURE"] is None:  # Secure by default; off only for debug and tests on http
        app.config["SESSION_COOKIE_SECURE"] = not (app.debug or app.testing)
    proxies = int(app.config["TRUSTED_PROXIES"])
    if proxies:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies)  # type: ignore[method-assign]
    init_log(app)
    app.before_request(_before_request)
    app.after_request(_headers)
    app.config["DATABASE_ROLE_WARNING"] = check_database_role(app)  # shown on the admin pages too
