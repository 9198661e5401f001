"""Alembic environment: one linear history for the app's tables and the engine's audit tables."""

from __future__ import annotations

from alembic import context

import app.models  # noqa: F401  (registers every mapped class)
from app.db import Base
from workflow.storage import create_db_engine

try:
    from workflow.audit import metadata as audit_metadata
except ImportError:  # before the audit tables exist
    audit_metadata = None

config = context.config
target_metadata = [m for m in (Base.metadata, audit_metadata) if m is not None]


def run_migrations() -> None:
    url = config.get_main_option("sqlalchemy.url")
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
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("offline migrations are not supported; give a database URL")
run_migrations()
