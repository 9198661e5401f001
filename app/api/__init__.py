"""The JSON API under /api/v1: a public contract, described by /api/v1/openapi.json.

Authentication is by bearer token only. The session cookie is ignored on API requests, so a browser's
ambient credentials can never act through the API; that is why the API blueprint alone is exempt from CSRF.
Areas declare their endpoints in an ``app.api.routes.Routes`` table (with ``@documented``, see app.api.spec);
``create_app`` builds one blueprint per application from those tables (``create_blueprint``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from flask import Blueprint, Flask, Response, abort, current_app, g, jsonify, request
from flask_login import AnonymousUserMixin, current_user

from app.access import public
from app.api import errors
from app.api.routes import Routes
from app.api.spec import MAX_ID, build_spec, documented
from app.api.tokens import load_user_from_request
from app.api.types import ErrorOut
from app.extensions import csrf, db_session
from app.idempotency import BAD_KEY, REUSED_KEY, claim, complete, matches, valid_key

routes = Routes()  # the API's own endpoints (its description)


@routes.get("/openapi.json")
@documented("This document (OpenAPI 3.1)", public=True, errors=())
@public
def openapi() -> Any:
    return current_app.response_class(openapi_document(current_app), mimetype="application/json")


def openapi_document(app: Flask) -> bytes:
    """The description as served (JSON), built and encoded on the application's first request for it: the
    routes and models cannot change once the application is created."""
    body = app.extensions.get("grantflow.openapi")
    if body is None:
        body = app.extensions["grantflow.openapi"] = jsonify(build_spec(app, ErrorOut)).get_data()
    return body


def create_blueprint(tables: Iterable[Routes]) -> Blueprint:
    """A new API blueprint with the shared request handling below and the endpoints of ``tables``, in order (a
    blueprint cannot take routes once registered, and tests build many applications)."""
    bp = Blueprint("api", __name__, url_prefix="/api/v1")
    csrf.exempt(bp)
    for exc, handler in errors.HANDLERS:
        bp.register_error_handler(exc, handler)
    bp.url_value_preprocessor(_ids_in_range)
    for hook in (_authenticate, _check_json_body, _idempotent_replay):
        bp.before_request(hook)
    bp.after_request(_remember_answer)
    for table in (routes, *tables):
        for route in table.rules:
            bp.add_url_rule(route.rule, view_func=route.view, methods=list(route.methods))
    return bp


def _ids_in_range(_endpoint: str | None, values: dict[str, Any] | None) -> None:
    # An id no row can have is simply not found (rather than a database overflow error).
    if values and any(isinstance(v, int) and v > MAX_ID for v in values.values()):
        abort(404)


def _authenticate() -> None:
    # Flask-Login reads g._login_user first: setting it here means the session cookie is never consulted.
    g._login_user = load_user_from_request(db_session(), request) or AnonymousUserMixin()


DUPLICATE_KEY = {"vi": "Khóa JSON bị lặp lại: {key}", "en": "Duplicate JSON key: {key}"}
FORM_TYPES = ("multipart/form-data", "application/x-www-form-urlencoded")


class _DuplicateKey(ValueError):
    def __init__(self, key: str):
        super().__init__(key)
        self.key = key


def _unique_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _DuplicateKey(key)
        result[key] = value
    return result


def _check_json_body() -> Any:
    """A streamed (chunked) body is cut at MAX_CONTENT_LENGTH when read whole: that is a 413, not a 422 for
    truncated JSON. ``{"a": 1, "a": 2}`` is ambiguous (parsers disagree on which wins): refuse it, not guess."""
    if request.method not in ("POST", "PUT", "PATCH") or request.mimetype in FORM_TYPES:
        return None
    data, limit = request.get_data(), request.max_content_length
    if request.content_length is None and limit is not None and len(data) >= limit:
        abort(413)
    try:
        json.loads(data or b"null", object_pairs_hook=_unique_pairs)
    except _DuplicateKey as exc:
        message = {lang: text.format(key=exc.key[:100]) for lang, text in DUPLICATE_KEY.items()}
        return errors.error_response(422, errors.HTTP_MESSAGES[422], [errors.reason("invalid", message, exc.key[:100])])
    except (ValueError, RecursionError):
        return None  # malformed JSON: the endpoint's own validation answers it, naming the problem
    return None


def _idempotent_replay() -> Any:
    """A POST repeated with the same Idempotency-Key gets the first answer again (nothing is created twice)."""
    key = request.headers.get("Idempotency-Key")
    if request.method != "POST" or key is None or not current_user.is_authenticated:
        return None
    if not valid_key(key):
        return errors.error_response(422, errors.HTTP_MESSAGES[422],
                                     [errors.reason("invalid", BAD_KEY, "Idempotency-Key")])
    earlier = claim(db_session(), current_user.id, key, request.method, request.path)
    if earlier is None:
        g.idempotency_key = key
        return None
    if not matches(earlier, request.method, request.path):
        return errors.error_response(422, errors.HTTP_MESSAGES[422],
                                     [errors.reason("invalid", REUSED_KEY, "Idempotency-Key")])
    response = jsonify(earlier.body)
    response.status_code = earlier.status
    if earlier.location:
        response.headers["Location"] = earlier.location
    response.headers["Idempotent-Replayed"] = "true"
    return response


def _remember_answer(response: Response) -> Response:
    key = g.pop("idempotency_key", None)
    if key is not None and response.status_code < 400:  # a failure rolls the claim back: the key may be retried
        complete(db_session(), current_user.id, key, response.status_code, response.headers.get("Location"),
                 response.get_json(silent=True))
    return response

