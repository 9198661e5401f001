"""JSON errors for the API: ``{error, reasons[]}`` in the caller's language (Accept-Language vi/en, default vi).

Every failure the API can meet maps to one status: engine refusals by their kind (state 409, permission 403,
guard 422), conflicts 409, invalid inputs and payloads 422, HTTP errors as they are. Anything unexpected is
logged and answered as a JSON 500 so a client never gets an HTML page.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from flask import Response, current_app, jsonify, request
from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from werkzeug.exceptions import HTTPException

from app.statuses import status_of
from app.validation import pydantic_message
from workflow.errors import Conflict, InvalidInput, Refused

LANGUAGES = ("vi", "en")
Message = Mapping[str, str]


def api_lang() -> str:
    return request.accept_languages.best_match(LANGUAGES) or "vi"


def text(message: Message) -> str:
    return message.get(api_lang()) or message["vi"]


HTTP_MESSAGES: dict[int, dict[str, str]] = {
    400: {"vi": "Yêu cầu không hợp lệ", "en": "Bad request"},
    401: {"vi": "Cần xác thực bằng mã truy cập hợp lệ (Authorization: Bearer …)",
          "en": "A valid access token is required (Authorization: Bearer …)"},
    403: {"vi": "Bạn không có quyền thực hiện thao tác này", "en": "You are not allowed to do this"},
    404: {"vi": "Không tìm thấy", "en": "Not found"},
    405: {"vi": "Phương thức không được hỗ trợ", "en": "Method not allowed"},
    409: {"vi": "Xung đột trạng thái", "en": "Conflict"},
    413: {"vi": "Tệp quá lớn", "en": "The upload is too large"},
    415: {"vi": "Kiểu nội dung không được hỗ trợ", "en": "Unsupported content type"},
    422: {"vi": "Dữ liệu không hợp lệ", "en": "Invalid data"},
    429: {"vi": "Quá nhiều yêu cầu, vui lòng thử lại sau", "en": "Too many requests, try again later"},
    500: {"vi": "Lỗi hệ thống", "en": "Internal error"},
}

CONCURRENT = {"vi": "Một thay đổi khác vừa được ghi cùng lúc; vui lòng thử lại",
              "en": "Another change was saved at the same moment; please try again"}
ROLE_MISSING = {"vi": "Vai trò của bạn không được dùng chức năng này",
                "en": "None of your roles may use this function"}
REFUSAL_MESSAGES = {
    "state": {"vi": "Không thể thực hiện ở trạng thái hiện tại", "en": "Not possible in the current state"},
    "permission": HTTP_MESSAGES[403],
    "guard": {"vi": "Chưa đủ điều kiện để thực hiện", "en": "The conditions for this action are not met"},
}



def reason(code: str, message: Message, subject: str = "") -> dict[str, str]:
    return {"code": code, "subject": subject, "message": text(message)}


def error_response(status: int, message: Message, reasons: Iterable[dict[str, Any]] = (),
                   **extra: Any) -> Response:
    response = jsonify({"error": text(message), "reasons": list(reasons), **extra})
    response.status_code = status
    return response


def invalid(field: str, message: Message) -> Response:
    return error_response(422, HTTP_MESSAGES[422], [reason("invalid", message, field)])


def from_validation_error(exc: ValidationError) -> Response:
    reasons = [reason("invalid", pydantic_message(e), ".".join(str(p) for p in e["loc"]))
               for e in exc.errors(include_url=False)]
    return error_response(422, HTTP_MESSAGES[422], reasons)


def from_refused(exc: Refused) -> Response:
    kind = exc.kind
    return error_response(status_of(exc), REFUSAL_MESSAGES[kind],
                          [reason(r.code, r.message, r.subject) for r in exc.reasons])


def from_conflict(exc: Conflict) -> Response:
    return error_response(status_of(exc), exc.message, [reason("conflict", exc.message)],
                          current_version=exc.current_version, current_state=exc.current_state)


def from_invalid_input(exc: InvalidInput) -> Response:
    return error_response(status_of(exc), HTTP_MESSAGES[422],
                          [reason("invalid", message, name) for name, message in exc.errors.items()])


def from_http(exc: HTTPException) -> Response:
    status = exc.code or 500
    message = HTTP_MESSAGES.get(status, {"vi": exc.name, "en": exc.name})
    # A bare 403 comes from @requires: the caller's roles do not include this function at all.
    reasons = [reason("role", ROLE_MISSING)] if status == 403 else []
    response = error_response(status, message, reasons)
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="grantflow"'
    if status == 405 and exc.valid_methods:  # type: ignore[attr-defined]
        response.headers["Allow"] = ", ".join(exc.valid_methods)  # type: ignore[attr-defined]
    return response


def from_integrity(exc: IntegrityError) -> Response:
    # A concurrent request took the same unique value first (e.g. the next proposal code): retrying works.
    current_app.logger.warning("integrity conflict in the API: %s", exc.orig)
    return error_response(409, CONCURRENT, [reason("conflict", CONCURRENT)])


def from_unavailable(exc: Exception) -> Response:
    from app.errors import UNAVAILABLE

    current_app.logger.warning("database unavailable in the API: %s", exc)
    response = error_response(503, UNAVAILABLE, [reason("unavailable", UNAVAILABLE)])
    response.headers["Retry-After"] = str(current_app.config["RETRY_AFTER_SECONDS"])
    return response


def from_unexpected(exc: Exception) -> Response:
    current_app.logger.exception("unhandled error in the API", exc_info=exc)
    return error_response(500, HTTP_MESSAGES[500])


HANDLERS = (
    (ValidationError, from_validation_error),
    (Refused, from_refused),
    (Conflict, from_conflict),
    (InvalidInput, from_invalid_input),
    (HTTPException, from_http),
    (IntegrityError, from_integrity),
    (OperationalError, from_unavailable),
    (InterfaceError, from_unavailable),
    (PoolTimeout, from_unavailable),
    (Exception, from_unexpected),
)
