"""Shared set-up for the benchmarks: throwaway migrated databases and a place to put proposals."""

from __future__ import annotations

import os
import sys
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from app.schema import upgrade  # noqa: E402

PG_ADMIN = os.environ.get("TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


@contextmanager
def sqlite_database() -> Iterator[str]:
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/bench.sqlite"
        upgrade(url)
        yield url


@contextmanager
def postgres_database() -> Iterator[str]:
    name = f"gf_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(PG_ADMIN).set(database=name).render_as_string(hide_password=False)
    try:
        upgrade(url)
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def machine() -> str:
    """How busy the machine was: the figures are wall-clock times, so say what else was running."""
    return f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"


def databases(which: str = "both") -> Iterator[tuple[str, object]]:
    if which in ("both", "sqlite"):
        yield "SQLite", sqlite_database()
    if which in ("both", "postgres"):
        yield "PostgreSQL", postgres_database()
