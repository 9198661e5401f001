"""``/healthz`` for load balancers and systemd: the database answers, its migrations are current, and this
worker is alive (its pid and uptime). 200 when all hold, else 503 with what failed."""

from __future__ import annotations

import os
import time
from functools import lru_cache
from typing import Any

from alembic.script import ScriptDirectory
from flask import Blueprint, jsonify
from sqlalchemy import text

from app.access import public
from app.extensions import db_session
from app.schema import MIGRATIONS, alembic_config

bp = Blueprint("health", __name__)
STARTED = time.monotonic()


@lru_cache(maxsize=1)
def expected_heads() -> frozenset[str]:
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    assert script.dir == str(MIGRATIONS)
    return frozenset(script.get_heads())


@bp.get("/healthz")
@public
def healthz() -> Any:
    checks: dict[str, Any] = {"worker": {"pid": os.getpid(), "uptime_s": round(time.monotonic() - STARTED, 1)}}
    try:
        applied = frozenset(db_session().scalars(text("SELECT version_num FROM alembic_version")))
        checks["database"] = "ok"
        checks["migrations"] = "current" if applied == expected_heads() else (
            f"not current: database at {sorted(applied)}, code expects {sorted(expected_heads())}")
    except Exception as exc:  # unreachable, timed out, or never migrated: the probe reports, never raises
        checks["database"] = f"unavailable: {type(exc).__name__}"
        checks["migrations"] = "unknown"
    healthy = checks["database"] == "ok" and checks["migrations"] == "current"
    response = jsonify(status="ok" if healthy else "unhealthy", **checks)
    response.status_code = 200 if healthy else 503
    response.headers["Cache-Control"] = "no-store"
    return response
