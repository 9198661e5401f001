"""The security log: authentication events and denied object loads, one JSON object per line.

Python logging to a size-rotated file (``SECURITY_LOG``, default ``var/log/security.log``; ``SECURITY_LOG_MAX_BYTES``
× ``SECURITY_LOG_BACKUPS`` files). A file rather than a table: these events are mostly failures (wrong passwords,
probes, throttled attempts) that must be recorded even when the request's transaction rolls back, and they are
meant to be shipped to the operator's log collector. Changes to accounts and tokens are, in addition, audit events
on the user's hash chain. Passwords and tokens are never logged.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import logging.handlers
from pathlib import Path
from typing import Any

from flask import Flask, current_app, g, has_app_context, has_request_context, request

LOGGER_NAME = "grantflow.security"
_HANDLERS: dict[str, logging.Handler] = {}  # one handler per file per process, shared by the apps using it


class _JsonLines(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return json.dumps(record.msg, ensure_ascii=False, sort_keys=True, default=str)


def init_app(app: Flask) -> None:
    path = str(app.config["SECURITY_LOG"])
    if path not in _HANDLERS:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        handler = logging.handlers.RotatingFileHandler(
            path, maxBytes=int(app.config["SECURITY_LOG_MAX_BYTES"]),
            backupCount=int(app.config["SECURITY_LOG_BACKUPS"]), encoding="utf-8")
        handler.setFormatter(_JsonLines())
        _HANDLERS[path] = handler
    app.extensions["security_log"] = _HANDLERS[path]


def security_event(event: str, **fields: Any) -> None:
    """Write one event with the request's who/where (user, address, request id, method, path)."""
    record: dict[str, Any] = {"time": dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds"), "event": event}
    if has_request_context():
        user = g.get("_login_user")  # the user Flask-Login loaded for this request, if any
        record.update(ip=request.remote_addr, method=request.method, path=request.path,
                      request_id=g.get("request_id"))
        if user is not None and getattr(user, "is_authenticated", False):
            record.update(user_id=user.id, username=user.username)
    record.update(fields)
    logger = logging.getLogger(LOGGER_NAME)
    entry = logger.makeRecord(LOGGER_NAME, logging.INFO, __file__, 0, record, (), None)
    handler = current_app.extensions.get("security_log") if has_app_context() else None
    if handler is not None:
        handler.handle(entry)
    else:  # outside an app (a script using the models directly): whatever handlers the logger has
        logger.handle(entry)
