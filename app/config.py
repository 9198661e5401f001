"""Configuration from the environment, with safe defaults for a single-machine SQLite install.

Runtime files (the generated secret key, uploads, the SQLite database, the security log) live in Flask's
instance folder: ``GRANTFLOW_INSTANCE_PATH`` if set, else Flask's default (``instance/`` beside the package in a
checkout, ``<prefix>/var/app-instance`` when installed); never inside the package or the source tree's code."""

from __future__ import annotations

import datetime as dt
import os
import secrets
from pathlib import Path

INSTANCE_PATH_VARIABLE = "GRANTFLOW_INSTANCE_PATH"


def instance_path() -> str | None:
    """The instance folder asked for by the environment; None lets Flask choose its default."""
    return os.environ.get(INSTANCE_PATH_VARIABLE) or None


def secret_key(instance: Path) -> str:
    """SECRET_KEY from the environment, else one generated once and kept in the instance folder."""
    if os.environ.get("SECRET_KEY"):
        return os.environ["SECRET_KEY"]
    instance.mkdir(parents=True, exist_ok=True)
    path = instance / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()


def default_config(instance: Path) -> dict[str, object]:
    """The defaults; SECRET_KEY is left out (create_app reads or generates it only when none is given)."""
    return {
        "DATABASE_URL": os.environ.get("DATABASE_URL", f"sqlite:///{instance / 'grantflow.sqlite'}"),
        "UPLOAD_DIR": os.environ.get("UPLOAD_DIR", str(instance / "uploads")),
        "MAX_CONTENT_LENGTH": int(os.environ.get("MAX_UPLOAD_BYTES", 10 * 1024 * 1024)),
        "PROVINCE_CODE": os.environ.get("PROVINCE_CODE", "19"),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "BABEL_DEFAULT_LOCALE": "vi",
        "BABEL_DEFAULT_TIMEZONE": "Asia/Ho_Chi_Minh",
        "LANGUAGES": ("vi", "en"),
        "LOGIN_RATE_LIMIT": os.environ.get("LOGIN_RATE_LIMIT", "10 per minute"),
        "WTF_CSRF_TIME_LIMIT": None,
        # Shared by every worker when REDIS_URL (or RATELIMIT_STORAGE_URI) is set; else one process's memory.
        "RATELIMIT_STORAGE_URI": os.environ.get("RATELIMIT_STORAGE_URI") or os.environ.get("REDIS_URL") or "memory://",
        "LOGIN_IP_RATE_LIMIT": os.environ.get("LOGIN_IP_RATE_LIMIT", "60 per minute"),  # per address, all usernames
        # None: Secure unless debugging or testing (app.security); "0" only for a plain-HTTP install.
        "SESSION_COOKIE_SECURE": _flag(os.environ.get("SESSION_COOKIE_SECURE")),
        # No REMEMBER_COOKIE_*: remember-me is disabled (app.extensions), a login is its session only.
        "PERMANENT_SESSION_LIFETIME": dt.timedelta(hours=float(os.environ.get("SESSION_LIFETIME_HOURS", 10))),
        "SESSION_IDLE_MINUTES": float(os.environ.get("SESSION_IDLE_MINUTES", 30)),
        "API_TOKEN_DAYS": int(os.environ.get("API_TOKEN_DAYS", 90)),
        "SECURITY_LOG": os.environ.get("SECURITY_LOG", str(instance / "log" / "security.log")),
        "SECURITY_LOG_MAX_BYTES": int(os.environ.get("SECURITY_LOG_MAX_BYTES", 10 * 1024 * 1024)),
        "SECURITY_LOG_BACKUPS": int(os.environ.get("SECURITY_LOG_BACKUPS", 10)),
        "TRUSTED_PROXIES": int(os.environ.get("TRUSTED_PROXIES", 0)),  # reverse proxies in front (ProxyFix)
        "AUDIT_OWNER_CHECK": os.environ.get("AUDIT_OWNER_CHECK", "warn"),  # warn | refuse | off
        # Checkpoint signing (docs/security.md): the private key lives only where the checkpoint job runs.
        "AUDIT_SIGNING_KEY_FILE": os.environ.get("AUDIT_SIGNING_KEY_FILE"),
        "AUDIT_PUBLIC_KEY_FILE": os.environ.get("AUDIT_PUBLIC_KEY_FILE"),
        # Database waits, in ms, well below the worker timeout (gunicorn: 30 s): a request stuck behind a lock
        # or an outage gets a 503 with Retry-After instead of a killed worker (docs/operations.md).
        "DB_BUSY_TIMEOUT_MS": int(os.environ.get("DB_BUSY_TIMEOUT_MS", 5_000)),  # SQLite write lock
        "DB_LOCK_TIMEOUT_MS": int(os.environ.get("DB_LOCK_TIMEOUT_MS", 5_000)),  # PostgreSQL lock_timeout
        "DB_STATEMENT_TIMEOUT_MS": int(os.environ.get("DB_STATEMENT_TIMEOUT_MS", 20_000)),  # statement_timeout
        "RETRY_AFTER_SECONDS": int(os.environ.get("RETRY_AFTER_SECONDS", 5)),
    }


def _flag(value: str | None) -> bool | None:
    return None if value in (None, "") else value == "1"
