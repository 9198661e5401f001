"""The JSON API under /api/v1: a public contract, described by /api/v1/openapi.json.

Authentication is by bearer token only. The session cookie is ignored on API requests, so a browser's
ambient credentials can never act through the API; that is why the API blueprint alone is exempt from CSRF.
Other modules add endpoints by registering routes on ``bp`` with ``@documented`` (see app.api.spec).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, g, request
from flask_login import AnonymousUserMixin

from app.api import errors
from app.api.spec import MAX_ID
from app.api.tokens import load_user_from_request
from app.extensions import csrf, db_session

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)

for _exc, _handler in errors.HANDLERS:
    bp.register_error_handler(_exc, _handler)


@bp.url_value_preprocessor
def _ids_in_range(_endpoint: str | None, values: dict[str, Any] | None) -> None:
    # An id no row can have is simply not found (rather than a database overflow error).
    if values and any(isinstance(v, int) and v > MAX_ID for v in values.values()):
        abort(404)


@bp.before_request
def _authenticate() -> None:
    # Flask-Login reads g._login_user first: setting it here means the session cookie is never consulted.
    g._login_user = load_user_from_request(db_session(), request) or AnonymousUserMixin()


from app.api import (  # noqa: E402,F401  (registers the routes; stages: council, funding, implementation)
    rounds,  # noqa: E402,F401  (plan rounds, priority and progress confirmation)
    stages,
    views,
)
