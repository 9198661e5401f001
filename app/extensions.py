"""Flask extensions and the per-request database session.

The request boundary owns the transaction: views and operations only flush. ``after_request`` commits when
the response is a success (status below 400), before the response leaves; anything else is rolled back.
"""

from __future__ import annotations

from flask import Flask, Response, current_app, g, has_request_context, request
from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_wtf import CSRFProtect
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from app.uploads import PENDING_UPLOADS, sweep_uncommitted
from workflow.storage import create_db_engine, read_only

babel = Babel()
csrf = CSRFProtect()


class _SessionOnlyLoginManager(LoginManager):
    """Remember-me is off: a login lasts as long as its server-checked session (generation, idle timeout,
    lifetime), so a ``remember_token`` cookie, forged or replayed, never logs anyone in."""

    def _load_user_from_remember_cookie(self, cookie: str) -> None:
        return None


login_manager = _SessionOnlyLoginManager()
limiter = Limiter(key_func=get_remote_address, default_limits=[])  # storage: RATELIMIT_STORAGE_URI


def init_db(app: Flask) -> None:
    engine = create_db_engine(app.config["DATABASE_URL"], busy_timeout_ms=app.config["DB_BUSY_TIMEOUT_MS"],
                              lock_timeout_ms=app.config["DB_LOCK_TIMEOUT_MS"],
                              statement_timeout_ms=app.config["DB_STATEMENT_TIMEOUT_MS"])
    app.extensions["db_engine"] = engine
    app.extensions["db_sessionmaker"] = sessionmaker(bind=engine, expire_on_commit=False)
    # GET and HEAD only read: on SQLite their transactions never take (or wait for) the write lock.
    app.extensions["db_read_sessionmaker"] = sessionmaker(bind=read_only(engine), expire_on_commit=False)

    @app.after_request
    def _commit(response: Response) -> Response:
        session: Session | None = g.get("db_session")
        if session is not None and response.status_code < 400 and not g.get("db_rollback"):
            try:
                session.commit()
            except Exception as exc:  # answered like an error in the view (409, 503...); teardown rolls back
                return current_app.make_response(current_app.handle_user_exception(exc))
            g.pop(PENDING_UPLOADS, None)  # committed: the files stored by this request are kept
        return response

    @app.teardown_request
    def _close_session(exc: BaseException | None) -> None:
        sweep_uncommitted()
        session: Session | None = g.pop("db_session", None)
        if session is not None:
            session.rollback()  # no-op after a commit
            session.close()


def init_login(app: Flask) -> None:
    from flask_babel import lazy_gettext

    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = lazy_gettext("Please log in to see this page.")
    login_manager.login_message_category = "info"
    login_manager.session_protection = "strong"  # a session moved to another address or browser is dropped

    @login_manager.user_loader
    def _load_user(user_id: str) -> object | None:
        from app.models import User
        from app.security import session_is_current

        user = db_session().get(User, int(user_id)) if user_id.isdigit() else None
        return user if user is not None and user.is_active and session_is_current(user) else None


def db_engine() -> Engine:
    return current_app.extensions["db_engine"]


def db_session() -> Session:
    """The request's session, opened on first use."""
    if "db_session" not in g:
        reading = request.method in ("GET", "HEAD") if has_request_context() else False
        g.db_session = current_app.extensions["db_read_sessionmaker" if reading else "db_sessionmaker"]()
    return g.db_session


def mark_rollback() -> None:
    """Ask the request boundary to roll back instead of committing (for a view that handled an error)."""
    g.db_rollback = True
