"""Friendly error pages in the user's language; JSON ``{error, reasons}`` under /api.

Workflow errors that reach here unhandled map like everywhere else: Refused → 403 (permission), 409 (state)
or 422 (guard); Conflict → 409; InvalidInput → 422.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, current_app, g, jsonify, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import IntegrityError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from werkzeug.exceptions import HTTPException

from app.i18n import tr
from app.statuses import status_of
from workflow.errors import Conflict, InvalidInput, Refused

TITLES = {
    400: _l("Bad request"), 401: _l("Please log in"), 403: _l("Not allowed"), 404: _l("Not found"),
    405: _l("Method not allowed"), 409: _l("Conflict"), 413: _l("File too large"),
    422: _l("Cannot be processed"), 429: _l("Too many attempts"), 500: _l("Something went wrong"),
}
# Lock and statement timeouts, a busy SQLite database, a lost connection, an exhausted pool: try again later.
UNAVAILABLE_ERRORS = (OperationalError, InterfaceError, PoolTimeout)
UNAVAILABLE_TITLE = {"vi": "Hệ thống đang bận", "en": "The system is busy"}
# The outcome of a write is unknown here (the failure may have hit its commit): never claim "not saved".
UNAVAILABLE = {"vi": "Cơ sở dữ liệu đang bận hoặc tạm thời không truy cập được. Vui lòng thử lại sau ít phút. "
                     "Nếu bạn vừa gửi một thay đổi, hãy mở lại hồ sơ để kiểm tra trước khi gửi lại.",
               "en": "The database is busy or briefly unreachable. Please try again in a few minutes. If you "
                     "had just sent a change, open the proposal again to check it before sending it again."}


CONCURRENT = {"vi": "Một thay đổi khác vừa được ghi cùng lúc; thay đổi của bạn chưa được lưu, vui lòng thử lại.",
              "en": "Another change was saved at the same moment; yours was not saved, please try again."}


def _messages() -> dict[int, str]:
    return {
        400: _("The request could not be understood."),
        401: _("Please log in first."),
        403: _("You are not allowed to do this."),
        404: _("This page does not exist, or you do not have access to it."),
        405: _("This address does not accept this kind of request."),
        409: _("The proposal has changed in the meantime. Reload the page and try again."),
        413: _("The file is larger than the allowed limit."),
        422: _("The data given cannot be processed."),
        429: _("Too many attempts. Please wait a minute and try again."),
        500: _("An unexpected error occurred. The change was not saved."),
    }


def workflow_reasons(exc: Exception) -> list[str]:
    """The reasons of a workflow error, in the user's language."""
    if isinstance(exc, Refused):
        return [tr(r.message) for r in exc.reasons]
    if isinstance(exc, Conflict):
        return [tr(exc.message)]
    if isinstance(exc, InvalidInput):
        return [f"{name}: {tr(msg)}" for name, msg in exc.errors.items()]
    return []


def _reset_session() -> None:
    """Roll back a failed transaction first: the error page itself reads (the user, unit names)."""
    session = g.get("db_session")
    if session is not None:
        session.rollback()


def error_response(status: int, message: str | None = None, reasons: list[str] | None = None) -> Any:
    message = message or _messages().get(status, _messages()[500])
    reasons = reasons or []
    if request.path.startswith("/api/"):
        return jsonify(error=message, reasons=reasons), status
    return render_template("error.html", status=status, title=str(TITLES.get(status, TITLES[500])),
                           message=message, reasons=reasons), status


def _refuse_nul() -> Any:
    # PostgreSQL cannot store NUL in text: refuse it up front instead of failing at the database.
    # The API answers this itself, naming the field (422).
    if request.path.startswith("/api/"):
        return None
    if any("\x00" in value for value in [*request.args.values(), *request.form.values()]):
        return error_response(400, _("The request contains a forbidden character."))
    return None


def _csrf(exc: CSRFError) -> Any:
    return error_response(400, _("The form has expired or is missing its security token. "
                                 "Reload the page and try again."))


def _http(exc: HTTPException) -> Any:
    status = exc.code or 500
    custom = exc.description if exc.description != type(exc).description else None
    response = error_response(status, custom)
    if status == 405 and exc.valid_methods:  # type: ignore[attr-defined]
        body, code = response
        return body, code, {"Allow": ", ".join(exc.valid_methods)}  # type: ignore[attr-defined]
    return response


def _workflow_error(exc: Refused | Conflict | InvalidInput) -> Any:
    return error_response(status_of(exc), reasons=workflow_reasons(exc))


def _integrity(exc: IntegrityError) -> Any:
    # A concurrent request took the same unique value first; nothing of this request was saved.
    current_app.logger.warning("integrity conflict on %s: %s", request.path, exc.orig)
    _reset_session()
    return error_response(409, tr(CONCURRENT))


def _unavailable(exc: Exception) -> Any:
    current_app.logger.warning("database unavailable on %s: %s", request.path, exc)
    _reset_session()
    if request.path.startswith("/api/"):
        response = jsonify(error=tr(UNAVAILABLE), reasons=[])
    else:
        try:
            page = render_template("error.html", status=503, title=tr(UNAVAILABLE_TITLE),
                                   message=tr(UNAVAILABLE), reasons=[])
        except UNAVAILABLE_ERRORS:  # the page's header needs the database too (the user): plain text
            page = f"<!doctype html><meta charset=utf-8><h1>{tr(UNAVAILABLE_TITLE)}</h1><p>{tr(UNAVAILABLE)}</p>"
        response = current_app.make_response(page)
    response.status_code = 503
    response.headers["Retry-After"] = str(current_app.config["RETRY_AFTER_SECONDS"])
    return response


def _unexpected(exc: Exception) -> Any:
    current_app.logger.exception("unhandled error on %s", request.path)
    _reset_session()
    return error_response(500)


def register(app: Flask) -> None:
    app.before_request(_refuse_nul)
    app.register_error_handler(CSRFError, _csrf)
    app.register_error_handler(HTTPException, _http)
    for workflow_error in (Refused, Conflict, InvalidInput):
        app.register_error_handler(workflow_error, _workflow_error)
    app.register_error_handler(IntegrityError, _integrity)
    for error_class in UNAVAILABLE_ERRORS:
        app.register_error_handler(error_class, _unavailable)
    app.register_error_handler(Exception, _unexpected)
