"""Run the Alembic migrations programmatically (``flask init-db``, tests, ``make run``)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine

# Packaged with the app (in a checkout, app/migrations links to the repository's migrations/).
MIGRATIONS = Path(str(resources.files("app") / "migrations")).resolve()


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def current_revision(url: str) -> str | None:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    finally:
        engine.dispose()


def upgrade(url: str, revision: str = "head") -> None:
    before = current_revision(url)
    command.upgrade(alembic_config(url), revision)
    if before is not None and current_revision(url) != before:
        refresh_planner_statistics(url)


def refresh_planner_statistics(url: str) -> None:
    """PostgreSQL, after migrations that rewrote rows (backfills, re-pins): VACUUM so index-only scans see an
    all-visible table again, ANALYZE so new indexes and tables have statistics. Until autovacuum came round, deep
    list pages at 100,000 proposals read the heap for every row (56 → 170 ms)."""
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        if engine.dialect.name == "postgresql":
            with engine.connect() as conn:
                conn.exec_driver_sql("VACUUM (ANALYZE)")
    finally:
        engine.dispose()
