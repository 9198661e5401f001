"""Alembic environment: one linear history for the app's tables and the engine's audit tables."""

from __future__ import annotations

import os
import re
from pathlib import Path

from alembic import context
from sqlalchemy import inspect, text

import app.models  # noqa: F401  (registers every mapped class)
from app.db import Base
from workflow.storage import create_db_engine

try:
    from workflow.audit import metadata as audit_metadata
except ImportError:  # before the audit tables exist
    audit_metadata = None

config = context.config
target_metadata = [m for m in (Base.metadata, audit_metadata) if m is not None]


FORCE_ENV = "GRANTFLOW_FORCE_DOWNGRADE"


def _url() -> str:
    # The alembic command line (alembic.ini) follows the application's DATABASE_URL; the app's own upgrade()
    # passes its URL explicitly.
    if config.config_file_name is not None and os.environ.get("DATABASE_URL"):
        return os.environ["DATABASE_URL"]
    return config.get_main_option("sqlalchemy.url")


def _refuse_destroying_data(connection) -> None:  # type: ignore[no-untyped-def]
    """A downgrade that would drop tables holding rows stops, naming them, unless forced (-x force=1 or
    GRANTFLOW_FORCE_DOWNGRADE=1): alembic would otherwise drop them silently and exit 0."""
    migration = context.get_context()
    plan = migration._migrations_fn  # alembic's own plan for this command (a function of the current heads)
    if plan is None:
        return
    forced = context.get_x_argument(as_dictionary=True).get("force") == "1" or os.environ.get(FORCE_ENV) == "1"
    existing = set(inspect(connection).get_table_names())
    populated: list[str] = []
    for step in plan(migration.get_current_heads(), migration):
        if getattr(step, "is_upgrade", True):
            continue
        source = Path(step.revision.path).read_text()
        for table in re.findall(r"op\.create_table\(\s*['\"](\w+)['\"]", source):
            if table in existing and connection.execute(text(f'SELECT 1 FROM "{table}" LIMIT 1')).first():
                populated.append(f"{table} ({step.revision.revision})")
    if populated and not forced:
        raise SystemExit("refusing to downgrade: it would drop tables that hold data: " + ", ".join(populated)
                         + f". Back up first (flask --app app backup), then force with -x force=1 or {FORCE_ENV}=1.")


def run_migrations() -> None:
    url = _url()
    connectable = config.attributes.get("connection")
    if connectable is not None:
        _run(connectable)
        return
    engine = create_db_engine(url)
    with engine.connect() as connection:
        _run(connection)
    engine.dispose()


def _run(connection) -> None:  # type: ignore[no-untyped-def]
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    _refuse_destroying_data(connection)
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("offline migrations are not supported; give a database URL")
run_migrations()
